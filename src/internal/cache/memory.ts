/**
 * In-process cache backend for a single node. Same semantics as the Redis backend (the contract suite runs
 * against both); state lives in Maps, expires lazily on access, and a periodic unref()'d sweep drops what
 * nobody touches any more so memory stays bounded by the live keys.
 */
import { checkTtl, type CacheBackend, type CacheHealth, type LeaseDecision, type WindowDecision } from './cache.js';
import { checkBudget, drain, gcra } from './gcra.js';
import { withoutDeadline } from '../deadline.js';

export interface MemoryCacheOptions {
  /** Milliseconds clock; tests inject one. Defaults to a monotonic clock (immune to wall-clock jumps). */
  now?: () => number;
  sweepIntervalMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

/** GCRA state: how much of the window (in ms) is "used", as of `at`. */
interface Budget {
  level: number;
  at: number;
}

export class MemoryCache implements CacheBackend {
  readonly kind = 'memory';
  private readonly now: () => number;
  private readonly logger?: MemoryCacheOptions['logger'];
  private readonly budgets = new Map<string, Budget>();
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryCacheOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  /** One process's state needs no namespace: nothing outside this process can see it. */
  async useNamespace(): Promise<void> {}

  async hit(key: string, limit: number, windowMs: number, cost = 1): Promise<WindowDecision> {
    return this.hitNow(key, limit, windowMs, cost);
  }

  hitNow(key: string, limit: number, windowMs: number, cost = 1): WindowDecision {
    checkBudget(limit, windowMs, cost);
    const now = this.now();
    const { decision, level } = gcra(this.levelAt(key, now), limit, windowMs, cost, true);
    if (decision.allowed) this.budgets.set(key, { level, at: now });
    return decision;
  }

  async peek(key: string, limit: number, windowMs: number): Promise<WindowDecision> {
    checkBudget(limit, windowMs, 1);
    return gcra(this.levelAt(key, this.now()), limit, windowMs, 1, false).decision;
  }

  async acquireLease(setKey: string, member: string, cap: number, ttlMs: number): Promise<LeaseDecision> {
    const now = this.now();
    const set = this.liveLeases(setKey, now);
    if (set.has(member) || set.size < cap) {
      set.set(member, now + ttlMs);
      this.leases.set(setKey, set);
      return { acquired: true, count: set.size };
    }
    return { acquired: false, count: set.size };
  }

  async renewLeases(setKey: string, members: string[], ttlMs: number): Promise<void> {
    const now = this.now();
    const set = this.liveLeases(setKey, now);
    for (const member of members) if (set.has(member)) set.set(member, now + ttlMs);
  }

  async releaseLease(setKey: string, member: string): Promise<void> {
    this.leases.get(setKey)?.delete(member);
  }

  async countLeases(setKey: string): Promise<number> {
    return this.liveLeases(setKey, this.now()).size;
  }

  async listLeases(setKey: string): Promise<string[]> {
    return [...this.liveLeases(setKey, this.now()).keys()];
  }

  async putValue(key: string, value: string, ttlMs: number): Promise<void> {
    this.values.set(key, { value, expiresAt: this.now() + checkTtl(ttlMs) });
  }

  async getValue(key: string): Promise<string | undefined> {
    return this.liveValue(key);
  }

  async takeValue(key: string): Promise<string | undefined> {
    const value = this.liveValue(key);
    this.values.delete(key);
    return value;
  }

  async deleteValue(key: string): Promise<void> {
    this.values.delete(key);
  }

  private liveValue(key: string): string | undefined {
    const entry = this.values.get(key);
    if (entry && entry.expiresAt <= this.now()) this.values.delete(key);
    else return entry?.value;
    return undefined;
  }

  async publish(channel: string, message: string): Promise<void> {
    for (const listener of this.channels.get(channel) ?? []) {
      // Asynchronous like a real broker: a subscriber never runs inside the publisher's call stack, nor under
      // the publishing request's deadline (a Redis subscriber hears messages in no request's context either).
      withoutDeadline(() => queueMicrotask(() => {
        try {
          listener(message);
        } catch (err) {
          this.logger?.warn({ err, channel }, 'cache subscriber threw');
        }
      }));
    }
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    const listeners = this.channels.get(channel) ?? new Set();
    listeners.add(onMessage);
    this.channels.set(channel, listeners);
  }

  /** One process never loses its own subscription, so listeners are never called. */
  onResubscribe(): void {}

  health(): CacheHealth {
    return 'ok';
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.channels.clear();
  }

  private levelAt(key: string, now: number): number {
    const budget = this.budgets.get(key);
    return budget ? drain(budget.level, budget.at, now) : 0;
  }

  /** The set with expired members dropped (not stored back when it does not exist yet). */
  private liveLeases(setKey: string, now: number): Map<string, number> {
    const set = this.leases.get(setKey) ?? new Map<string, number>();
    for (const [member, expiresAt] of set) if (expiresAt <= now) set.delete(member);
    return set;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, budget] of this.budgets) if (budget.at + budget.level <= now) this.budgets.delete(key);
    for (const [key, entry] of this.values) if (entry.expiresAt <= now) this.values.delete(key);
    for (const [key] of this.leases) if (this.liveLeases(key, now).size === 0) this.leases.delete(key);
  }
}
