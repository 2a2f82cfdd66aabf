/**
 * The cache backend: the small, domain-shaped set of shared-state operations that rate limits,
 * connection caps and security-decision caches need. One in-process implementation (memory) and one
 * shared by every node (redis); both pass the same contract suite (test/cache/contract/).
 *
 * Keys are always built by the caller from the authenticated context ("{tenant}:{project}:..."),
 * never from client input alone. A shared backend puts the deployment's namespace in front of every key and
 * channel (keyspace.ts), so deployments that share one Redis never share state.
 */

export type CacheHealth = 'ok' | 'degraded';

export interface WindowDecision {
  /** true when this hit fitted in the budget (and was counted). */
  allowed: boolean;
  /** hits still available in the current window after this one (never negative). */
  remaining: number;
  /** milliseconds until at least one more hit will be allowed (0 when allowed and remaining > 0). */
  retryAfterMs: number;
  /** milliseconds until the window has fully recovered (for the RateLimit `t` field). */
  resetMs: number;
}

export interface LeaseDecision {
  acquired: boolean;
  /** live leases in the set after the call (including this one when acquired). */
  count: number;
}

export interface CacheBackend {
  readonly kind: 'memory' | 'redis';

  /**
   * Binds the backend to this deployment's namespace, read from the database at start (namespace.ts). A
   * shared backend (redis) refuses every operation until then, as if it were unreachable, and subscribes
   * nothing; the returned promise settles once the channels asked for so far are subscribed (bounded).
   * Binding again to the same namespace does nothing; to another one throws. Memory state belongs to this
   * process alone and ignores it.
   */
  useNamespace(namespace: string): Promise<void>;

  /**
   * Sliding-window budget (or GCRA): counts `cost` hits against `limit` per `windowMs` under `key`,
   * atomically (one round trip on redis). A refused hit is not counted.
   */
  hit(key: string, limit: number, windowMs: number, cost?: number): Promise<WindowDecision>;

  /** `hit` answered at once, where the backend keeps its state in this process (memory); absent elsewhere. */
  hitNow?(key: string, limit: number, windowMs: number, cost?: number): WindowDecision;

  /** Reads a budget without counting a hit. */
  peek(key: string, limit: number, windowMs: number): Promise<WindowDecision>;

  /**
   * Leases: a capped set of members, each with its own expiry. Acquire drops expired members, then adds
   * `member` if fewer than `cap` live members remain (re-acquiring a live member renews it and succeeds).
   */
  acquireLease(setKey: string, member: string, cap: number, ttlMs: number): Promise<LeaseDecision>;
  /** Extends the expiry of live members (a node renews all the leases it holds in one call). */
  renewLeases(setKey: string, members: string[], ttlMs: number): Promise<void>;
  releaseLease(setKey: string, member: string): Promise<void>;
  countLeases(setKey: string): Promise<number>;
  /** The live members of a lease set, in no particular order (chat lists a channel's members with it). */
  listLeases(setKey: string): Promise<string[]>;

  /**
   * Values: short-lived records shared by every node (a realtime session's resume token, a session handed
   * over by a draining node). Each expires after its own ttl.
   */
  putValue(key: string, value: string, ttlMs: number): Promise<void>;
  getValue(key: string): Promise<string | undefined>;
  /** Reads and deletes in one step: of many nodes taking the same key at once, exactly one gets the value. */
  takeValue(key: string): Promise<string | undefined>;
  deleteValue(key: string): Promise<void>;

  /** Pub/sub, used to invalidate security caches on every node. */
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /**
   * Called whenever the subscription (re)connects after having been down: a message may have been missed,
   * so listeners flush what they cached.
   */
  onResubscribe(listener: () => void): void;

  health(): CacheHealth;
  close(): Promise<void>;
}

/** A value's ttl: a whole, positive number of milliseconds (Redis' PX refuses anything else). */
export function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`invalid ttl: ${ttlMs} ms`);
  return ttlMs;
}
