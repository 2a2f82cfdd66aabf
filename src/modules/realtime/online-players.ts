/**
 * Who is online, across nodes: a player is online while any node holds a session of theirs (attached or
 * detached within its window). Each session is a lease in the player's set on the cache backend, renewed by
 * the node holding it, so a crashed node's players drop out once their leases expire (WS_LEASE_TTL_MS). The
 * node where a player's first session starts hears "online", the node where the last one ends hears
 * "offline"; a session moving between nodes keeps its lease and changes neither.
 */
import type { CacheBackend } from '../../internal/cache/cache.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { PlayerIdentity } from './session.js';

export type OnlineListener = (scope: ProjectScope, playerId: string) => Promise<void> | void;

/** No cap: the set counts sessions, which the connection caps already bound. */
const NO_CAP = 1_000_000_000;

export class OnlinePlayers {
  /** Sessions this node holds, by player set key: renewed together. */
  private readonly held = new Map<string, Set<string>>();
  private readonly onlineListeners: OnlineListener[] = [];
  private readonly offlineListeners: OnlineListener[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly cache: CacheBackend,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  onOnline(listener: OnlineListener): void {
    this.onlineListeners.push(listener);
  }

  onOffline(listener: OnlineListener): void {
    this.offlineListeners.push(listener);
  }

  /** The players of these ids that are online now. */
  async which(scope: ProjectScope, playerIds: readonly string[]): Promise<Set<string>> {
    const counts = await Promise.all(playerIds.map((id) => this.cache.countLeases(setKey(scope, id))));
    return new Set(playerIds.filter((_, i) => counts[i]! > 0));
  }

  /** A session is held here: new (may bring its player online) or moved in from another node. */
  async hold(identity: PlayerIdentity, key: string, fresh: boolean): Promise<void> {
    const set = setKey(identity, identity.playerId);
    const keys = this.held.get(set) ?? new Set();
    keys.add(key);
    this.held.set(set, keys);
    try {
      const { count } = await this.cache.acquireLease(set, key, NO_CAP, this.ttlMs);
      if (fresh && count === 1) await this.tell(this.onlineListeners, identity);
    } catch (error) {
      this.logger.warn({ err: error }, 'realtime: could not record a player online');
    }
  }

  /** The session left this node alive (moved elsewhere): its new node renews its lease from now on. */
  let(identity: PlayerIdentity, key: string): void {
    this.forget(setKey(identity, identity.playerId), key);
  }

  /** The session ended: its player goes offline if it was the last one anywhere. */
  async end(identity: PlayerIdentity, key: string): Promise<void> {
    const set = setKey(identity, identity.playerId);
    this.forget(set, key);
    try {
      await this.cache.releaseLease(set, key);
      if ((await this.cache.countLeases(set)) === 0) await this.tell(this.offlineListeners, identity);
    } catch (error) {
      this.logger.warn({ err: error }, 'realtime: could not record a player offline');
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private forget(set: string, key: string): void {
    const keys = this.held.get(set);
    keys?.delete(key);
    if (keys?.size === 0) this.held.delete(set);
  }

  private async renew(): Promise<void> {
    for (const [set, keys] of this.held) {
      await this.cache.renewLeases(set, [...keys], this.ttlMs).catch((error: unknown) => this.logger.debug({ err: error }, 'realtime: renewing online leases failed'));
    }
  }

  private async tell(listeners: readonly OnlineListener[], identity: PlayerIdentity): Promise<void> {
    const scope = { tenantId: identity.tenantId, projectId: identity.projectId };
    for (const listener of listeners) {
      try {
        await listener(scope, identity.playerId);
      } catch (error) {
        this.logger.warn({ err: error }, 'realtime: an online/offline listener failed');
      }
    }
  }
}

function setKey(scope: ProjectScope, playerId: string): string {
  return `{${scope.tenantId}}:${scope.projectId}:rt:online:${playerId}`;
}
