/**
 * WebSocket connection caps per tenant and per player (docs/api/realtime.md), counted across every node that
 * shares the cache backend.
 *
 * Each open connection holds a lease in a per-player set (when the player cap is on), in a per-tenant set and
 * in a per-project set; a set refuses a lease once it holds `cap` live members. The tenant and project sets are
 * held even without a cap (then uncapped): usage samples its ccu_peak from them (openCounts), across nodes.
 * Members are "<nodeId>:<connectionId>" and expire on their own: this node renews
 * the ones it holds every third of the TTL, so a node killed without closing its sockets gives their slots
 * back within one TTL, while a clean close releases them at once. The memory backend serves one node, Redis
 * many; both go through the CacheBackend interface and one contract suite (test/realtime/connection-caps).
 */
import { randomBytes } from 'node:crypto';
import type { CacheBackend } from '../../internal/cache/cache.js';
import type { OpenCount } from './api.js';

export interface CapHolder {
  tenantId: string;
  projectId: string;
  playerId: string;
}

/** 0 disables a cap, as 0 disables a request budget. */
export interface Caps {
  tenant: number;
  player: number;
}

export type CapRefusal = 'player-cap' | 'tenant-cap';

export interface CapLease {
  readonly member: string;
  readonly released: boolean;
  /** Gives the slots back at once; safe to call more than once. */
  release(): Promise<void>;
}

export type AcquireOutcome = { ok: true; lease: CapLease } | { ok: false; reason: CapRefusal; count: number };

export interface ConnectionCapsOptions {
  ttlMs: number;
  /** Defaults to a random id per process: a restarted node never renews its previous life's leases. */
  nodeId?: string;
  /** Called when the shared backend failed and a per-node decision was taken instead. */
  onFallback?: (error: unknown) => void;
  logger?: { warn(obj: object, msg: string): void };
}

interface Wanted {
  key: string;
  cap: number;
  reason: CapRefusal;
}

/** Re-acquiring with this cap always succeeds: it puts back a lease that expired while Redis was away. */
const NO_CAP = 1_000_000_000;
/** Renewal calls in flight at once, and members per call (bounded work per script run). */
const RENEW_CONCURRENCY = 256;
const RENEW_CHUNK = 1_000;

class HeldLease implements CapLease {
  released = false;

  constructor(
    readonly member: string,
    readonly backend: CacheBackend,
    readonly keys: string[],
    readonly holder: CapHolder,
    private readonly owner: ConnectionCaps,
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.owner.drop(this);
  }
}

export class ConnectionCaps {
  readonly nodeId: string;
  private readonly held = new Set<HeldLease>();
  private readonly renewer: NodeJS.Timeout;
  /** Backends whose last renewal failed: their leases may have expired meanwhile and are re-acquired. */
  private readonly lostContact = new Set<CacheBackend>();
  private renewing = false;
  /** When the last successful renewal pass per backend started: every lease held was renewed then or later. */
  private readonly renewedAt = new Map<CacheBackend, number>();
  private readonly startedAt = Date.now();
  private lastWarning = 0;

  constructor(
    private readonly shared: CacheBackend,
    /** A per-node backend for when the shared one is unreachable (the same object on the memory backend). */
    private readonly local: CacheBackend,
    private readonly options: ConnectionCapsOptions,
  ) {
    this.nodeId = options.nodeId ?? randomBytes(8).toString('hex');
    this.renewer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(options.ttlMs / 3)));
    this.renewer.unref();
  }

  static keys(holder: CapHolder): { tenant: string; project: string; player: string } {
    return {
      tenant: `{${holder.tenantId}}:ws:tenant`,
      project: `{${holder.tenantId}}:${holder.projectId}:ws:project`,
      player: `{${holder.tenantId}}:${holder.projectId}:ws:player:${holder.playerId}`,
    };
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Takes a slot under the player's cap, then under the tenant's; a refusal of either holds nothing. */
  async acquire(holder: CapHolder, caps: Caps): Promise<AcquireOutcome> {
    const keys = ConnectionCaps.keys(holder);
    const wanted: Wanted[] = [];
    // The player's set first: one greedy player is refused without touching the busier tenant-wide set.
    if (caps.player > 0) wanted.push({ key: keys.player, cap: caps.player, reason: 'player-cap' });
    // Uncapped tenant and project sets still count the connections (usage's ccu_peak); the project set,
    // which never refuses, comes last so that a refusal never touches it.
    wanted.push({ key: keys.tenant, cap: caps.tenant > 0 ? caps.tenant : NO_CAP, reason: 'tenant-cap' });
    wanted.push({ key: keys.project, cap: NO_CAP, reason: 'tenant-cap' });
    const member = `${this.nodeId}:${randomBytes(9).toString('base64url')}`;
    let backend = this.shared;
    let outcome: { taken: string[] } | { reason: CapRefusal; count: number };
    try {
      outcome = await this.take(this.shared, wanted, member);
    } catch (error) {
      if (this.shared === this.local) throw error;
      // Fail open to a per-node cap, as request budgets do: the caps then hold per node until Redis is back.
      this.options.onFallback?.(error);
      this.warn(error, 'connection caps: shared backend unreachable; counting on this node only');
      backend = this.local;
      outcome = await this.take(this.local, wanted, member);
    }
    if ('reason' in outcome) return { ok: false, reason: outcome.reason, count: outcome.count };
    const lease = new HeldLease(member, backend, outcome.taken, holder, this);
    this.held.add(lease);
    return { ok: true, lease };
  }

  /**
   * The open connections, counted on every node, of each tenant and project this node holds a connection of
   * (a tenant whose sockets are all on other nodes is counted by those nodes). Counted on the backend each
   * lease is held on: the node's own while the shared one was unreachable.
   */
  async openCounts(): Promise<OpenCount[]> {
    const sets = new Map<string, { backend: CacheBackend; key: string; tenantId: string; projectId: string | null }>();
    for (const lease of this.held) {
      const keys = ConnectionCaps.keys(lease.holder);
      const { tenantId, projectId } = lease.holder;
      sets.set(`${lease.backend.kind}/${keys.tenant}`, { backend: lease.backend, key: keys.tenant, tenantId, projectId: null });
      sets.set(`${lease.backend.kind}/${keys.project}`, { backend: lease.backend, key: keys.project, tenantId, projectId });
    }
    // Bounded calls in flight, as renewals are: a node may hold sockets of thousands of projects.
    const counted: OpenCount[] = [];
    const all = [...sets.values()];
    for (let i = 0; i < all.length; i += RENEW_CONCURRENCY) {
      const chunk = all.slice(i, i + RENEW_CONCURRENCY);
      counted.push(...(await Promise.all(chunk.map(async ({ backend, key, tenantId, projectId }) => ({ tenantId, projectId, count: await backend.countLeases(key) })))));
    }
    // A set held on both backends (some leases taken during an outage) is counted once, its larger count.
    const largest = new Map<string, OpenCount>();
    for (const open of counted) {
      const id = `${open.tenantId}/${open.projectId ?? ''}`;
      if ((largest.get(id)?.count ?? -1) < open.count) largest.set(id, open);
    }
    return [...largest.values()];
  }

  /** Stops renewing and releases every lease this node holds (a clean shutdown frees its slots at once). */
  async close(): Promise<void> {
    clearInterval(this.renewer);
    await Promise.all([...this.held].map((lease) => lease.release()));
  }

  /** @internal called by a lease's release(). */
  async drop(lease: HeldLease): Promise<void> {
    this.held.delete(lease);
    try {
      await Promise.all(lease.keys.map((key) => lease.backend.releaseLease(key, lease.member)));
    } catch (error) {
      // The lease expires by itself within one TTL.
      this.warn(error, 'connection caps: a release failed; the slot frees when its lease expires');
    }
  }

  private async take(backend: CacheBackend, wanted: Wanted[], member: string): Promise<{ taken: string[] } | { reason: CapRefusal; count: number }> {
    const taken: string[] = [];
    try {
      for (const want of wanted) {
        const decision = await backend.acquireLease(want.key, member, want.cap, this.options.ttlMs);
        if (!decision.acquired) {
          await this.giveBack(backend, taken, member);
          return { reason: want.reason, count: decision.count };
        }
        taken.push(want.key);
      }
      return { taken };
    } catch (error) {
      await this.giveBack(backend, taken, member).catch(() => undefined);
      throw error;
    }
  }

  private async giveBack(backend: CacheBackend, keys: string[], member: string): Promise<void> {
    await Promise.all(keys.map((key) => backend.releaseLease(key, member)));
  }

  /** One renewal pass: every held lease, grouped by backend and set (one call per set and chunk). */
  private async renewAll(): Promise<void> {
    if (this.renewing || this.held.size === 0) return;
    this.renewing = true;
    try {
      const groups = new Map<CacheBackend, Map<string, string[]>>();
      for (const lease of this.held) {
        let sets = groups.get(lease.backend);
        if (!sets) groups.set(lease.backend, (sets = new Map<string, string[]>()));
        for (const key of lease.keys) {
          const members = sets.get(key);
          if (members) members.push(lease.member);
          else sets.set(key, [lease.member]);
        }
      }
      for (const [backend, sets] of groups) await this.renewOn(backend, sets);
    } finally {
      this.renewing = false;
    }
  }

  private async renewOn(backend: CacheBackend, sets: Map<string, string[]>): Promise<void> {
    const ttl = this.options.ttlMs;
    const passStarted = Date.now();
    // A pass that comes late (an event loop starved under load) may find leases already expired, and a
    // renewal never brings an expired lease back: then re-acquire, as after a lost contact.
    const late = passStarted - (this.renewedAt.get(backend) ?? this.startedAt) > ttl * 0.8;
    const recovering = late || this.lostContact.has(backend);
    const calls: (() => Promise<unknown>)[] = [];
    for (const [key, members] of sets) {
      if (recovering) {
        for (const member of members) calls.push(() => backend.acquireLease(key, member, NO_CAP, ttl));
      } else {
        for (let i = 0; i < members.length; i += RENEW_CHUNK) {
          const chunk = members.slice(i, i + RENEW_CHUNK);
          calls.push(() => backend.renewLeases(key, chunk, ttl));
        }
      }
    }
    let failed: unknown;
    for (let i = 0; i < calls.length; i += RENEW_CONCURRENCY) {
      const results = await Promise.allSettled(calls.slice(i, i + RENEW_CONCURRENCY).map((call) => call()));
      for (const result of results) if (result.status === 'rejected') failed ??= result.reason;
    }
    if (failed === undefined) {
      this.lostContact.delete(backend);
      this.renewedAt.set(backend, passStarted);
    } else {
      this.lostContact.add(backend);
      this.warn(failed, 'connection caps: renewing leases failed; retrying on the next pass');
    }
  }

  private warn(error: unknown, message: string): void {
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.options.logger?.warn({ err: error }, message);
  }
}
