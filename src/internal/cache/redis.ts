/**
 * Redis cache backend, shared by every node. Budgets and leases are Lua scripts (one atomic round trip each,
 * EVALSHA via defineCommand) that read the clock with redis.call('TIME'): nodes with skewed clocks still
 * share one budget because only the server's clock is ever used.
 *
 * Budgets use GCRA (gcra.ts holds its arithmetic in TypeScript, for memory.ts, and in Lua, for this script,
 * and a test holds the two equal): one hash per key holding the used part of the window and when it was
 * measured. Chosen over a sorted-set log (memory grows with the limit, and cost > 1 means many members) and
 * over the two-bucket approximation (not exact: a burst straddling the bucket boundary can exceed the
 * limit): GCRA is O(1) per key, exact under concurrency, takes any cost, and gives retry/reset times in
 * closed form. Its window is a sliding one: a full budget allows a burst of `limit`, then one more hit every
 * windowMs/limit.
 *
 * Every key and channel is in the deployment's keyspace (keyspace.ts): until useNamespace() has bound it,
 * every operation rejects as if Redis were unreachable and nothing is subscribed, so no key is ever written
 * outside the namespace (a node listens before its database, which holds the namespace, is open).
 *
 * Failure model: the command connection has no offline queue, so while Redis is down every call rejects at
 * once (callers decide whether to fail open or closed) instead of piling up; both connections reconnect
 * forever in the background with a capped backoff.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { unavailable } from '../errors/app-error.js';
import { checkTtl, type CacheBackend, type CacheHealth, type LeaseDecision, type WindowDecision } from './cache.js';
import { DEFAULT_ROOT, RedisKeyspace, checkRoot } from './keyspace.js';
import { checkBudget, gcraBudgetLua } from './gcra.js';

export interface RedisCacheOptions {
  url: string;
  /** The root in front of the namespace (default 'ggscale:'); tests pass their own to keep runs apart. */
  keyPrefix?: string;
  /** The deployment namespace when already known (tools, tests); otherwise useNamespace() binds it later. */
  namespace?: string;
  logger?: { warn(obj: object, msg: string): void };
}

/** Server time in ms (float, µs precision). */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000`;

/** The budget script (gcra.ts) on the server's clock. */
const GCRA_LUA = gcraBudgetLua(NOW_MS);

/** Integer server ms, then drops expired leases (score = expiry ms). */
const LEASE_PRELUDE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)`;

/** Abandoned sets vanish once their longest lease has expired. */
const LEASE_KEEP_SET = `if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end`;

/** KEYS[1] set; ARGV member, cap, ttlMs. Returns acquired, count. */
const ACQUIRE_LUA = `${LEASE_PRELUDE}
local ttl = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and count >= tonumber(ARGV[2]) then return { 0, count } end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
${LEASE_KEEP_SET}
return { 1, redis.call('ZCARD', KEYS[1]) }`;

/** KEYS[1] set; ARGV ttlMs, members... Only live members are renewed (XX never adds). */
const RENEW_LUA = `${LEASE_PRELUDE}
local ttl = tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl, ARGV[i]) end
if renewed > 0 then ${LEASE_KEEP_SET} end
return renewed`;

/** KEYS[1] set. Counts unexpired leases by the server clock (read-only). */
const COUNT_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

/** KEYS[1] set. The unexpired members by the server clock (read-only). */
const LIST_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')`;

interface Scripts {
  ggGcra(key: string, limit: number, windowMs: number, cost: number, count: 0 | 1): Promise<number[]>;
  ggAcquire(key: string, member: string, cap: number, ttlMs: number): Promise<number[]>;
  ggRenew(key: string, ttlMs: number, ...members: string[]): Promise<number>;
  ggCount(key: string): Promise<number>;
  ggList(key: string): Promise<string[]>;
}

const CONNECT_TIMEOUT_MS = 1_000;

export const connectionOptions = (name: string): RedisOptions => ({
  connectionName: name.replace(/\s/g, '_'),
  connectTimeout: CONNECT_TIMEOUT_MS,
  // Fail fast: no queueing while disconnected, no resend after a drop (a resent hit could count twice).
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: CONNECT_TIMEOUT_MS,
  // Reconnect forever: 100 ms, 200 ms, ... capped at 2 s, with jitter so nodes do not stampede together.
  retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times - 1, 5), 2_000) + Math.floor(Math.random() * 100),
});

export class RedisCache implements CacheBackend {
  readonly kind = 'redis';
  /** Names this node's connections (CLIENT LIST); keys and channels are the keyspace's. */
  private readonly root: string;
  private keyspace: RedisKeyspace | undefined;
  private readonly logger?: RedisCacheOptions['logger'];
  private readonly client: Redis & Scripts;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly resubscribeListeners: (() => void)[] = [];
  /** Callbacks run at the end of every re-subscription pass. */
  private readonly resubscribed = new Set<() => void>();
  /** Pending bounded waits, cut short by close(). */
  private readonly waits = new Set<() => void>();
  private subscriberWasDown = false;
  private closing: Promise<void> | undefined;

  constructor(options: RedisCacheOptions) {
    this.root = checkRoot(options.keyPrefix ?? DEFAULT_ROOT);
    if (options.namespace !== undefined) this.keyspace = new RedisKeyspace(options.namespace, this.root);
    this.logger = options.logger;
    // Auto-pipelining sends the commands issued in one tick together: under load, one round trip carries
    // many rate-limit decisions instead of one each.
    this.client = new Redis(options.url, { ...connectionOptions(`${this.root}cmd`), enableAutoPipelining: true }) as Redis & Scripts;
    this.client.defineCommand('ggGcra', { numberOfKeys: 1, lua: GCRA_LUA });
    this.client.defineCommand('ggAcquire', { numberOfKeys: 1, lua: ACQUIRE_LUA });
    this.client.defineCommand('ggRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    this.client.defineCommand('ggCount', { numberOfKeys: 1, lua: COUNT_LUA, readOnly: true });
    this.client.defineCommand('ggList', { numberOfKeys: 1, lua: LIST_LUA, readOnly: true });
    // We re-subscribe ourselves instead of relying on autoResubscribe: ioredis emits 'ready' before its own
    // SUBSCRIBE is acknowledged, and onResubscribe listeners must only flush once messages flow again.
    this.subscriber = new Redis(options.url, { ...connectionOptions(`${this.root}sub`), autoResubscribe: false });
    this.watch(this.client, 'command');
    this.watch(this.subscriber, 'subscriber');
    this.subscriber.on('close', () => {
      this.subscriberWasDown = true;
    });
    this.subscriber.on('ready', () => void this.resubscribe());
    this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  /** Resolves true once the command connection is ready, false after `timeoutMs` (or on close). */
  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return this.bounded(timeoutMs, (wake) => {
      this.client.once('ready', wake);
      return () => this.client.off('ready', wake);
    });
  }

  async useNamespace(namespace: string): Promise<void> {
    if (this.keyspace) {
      if (this.keyspace.namespace !== namespace) throw new Error('this cache is already bound to another deployment namespace');
      return;
    }
    this.keyspace = new RedisKeyspace(namespace, this.root);
    // Subscribe what was asked for while unbound, now, so that once this resolves no message is missed.
    if (this.subscriber.status === 'ready') await this.resubscribe();
    else await this.untilSubscribed();
  }

  /** The key of `name` in this deployment's keyspace; a 503 (as when Redis is unreachable) until bound. */
  private key(name: string): string {
    return this.bound().key(name);
  }

  private bound(): RedisKeyspace {
    if (!this.keyspace) throw unavailable('The shared cache is waiting for the deployment namespace.', 1);
    return this.keyspace;
  }

  async hit(key: string, limit: number, windowMs: number, cost = 1): Promise<WindowDecision> {
    checkBudget(limit, windowMs, cost);
    return toDecision(await this.client.ggGcra(this.key(key), limit, windowMs, cost, 1));
  }

  async peek(key: string, limit: number, windowMs: number): Promise<WindowDecision> {
    checkBudget(limit, windowMs, 1);
    return toDecision(await this.client.ggGcra(this.key(key), limit, windowMs, 1, 0));
  }

  async acquireLease(setKey: string, member: string, cap: number, ttlMs: number): Promise<LeaseDecision> {
    const [acquired, count] = await this.client.ggAcquire(this.key(setKey), member, cap, ttlMs);
    return { acquired: acquired === 1, count: count ?? 0 };
  }

  async renewLeases(setKey: string, members: string[], ttlMs: number): Promise<void> {
    if (members.length > 0) await this.client.ggRenew(this.key(setKey), ttlMs, ...members);
  }

  async releaseLease(setKey: string, member: string): Promise<void> {
    await this.client.zrem(this.key(setKey), member);
  }

  async countLeases(setKey: string): Promise<number> {
    return this.client.ggCount(this.key(setKey));
  }

  async listLeases(setKey: string): Promise<string[]> {
    return this.client.ggList(this.key(setKey));
  }

  async putValue(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(this.key(key), value, 'PX', checkTtl(ttlMs));
  }

  async getValue(key: string): Promise<string | undefined> {
    return (await this.client.get(this.key(key))) ?? undefined;
  }

  async takeValue(key: string): Promise<string | undefined> {
    return (await this.client.getdel(this.key(key))) ?? undefined;
  }

  async deleteValue(key: string): Promise<void> {
    await this.client.del(this.key(key));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.bound().channel(channel), message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    const listeners = this.handlers.get(channel);
    if (listeners) {
      listeners.add(onMessage);
      return;
    }
    this.handlers.set(channel, new Set([onMessage]));
    // Not bound yet: remembered, and subscribed by useNamespace(). Not connected: subscribed on the next
    // 'ready'; while the connection is being established, wait (briefly) for that, so a publish right after
    // subscribe() is not missed.
    if (!this.keyspace) return;
    if (this.subscriber.status !== 'ready') {
      await this.untilSubscribed();
      return;
    }
    try {
      await this.subscriber.subscribe(this.keyspace.channel(channel));
    } catch (err) {
      if (this.subscriber.status === 'ready') throw err; // dropped meanwhile: 'ready' will subscribe it
    }
  }

  /** While the subscriber connection is being established, waits (bounded) for its subscription pass. */
  private async untilSubscribed(): Promise<void> {
    if (this.subscriber.status !== 'connecting' && this.subscriber.status !== 'connect') return;
    await this.bounded(CONNECT_TIMEOUT_MS, (wake) => {
      this.resubscribed.add(wake);
      return () => this.resubscribed.delete(wake);
    });
  }

  onResubscribe(listener: () => void): void {
    this.resubscribeListeners.push(listener);
  }

  health(): CacheHealth {
    return this.keyspace && this.client.status === 'ready' ? 'ok' : 'degraded';
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const cancel of [...this.waits]) cancel();
      await Promise.all([shutdown(this.client), shutdown(this.subscriber)]);
    })();
    return this.closing;
  }

  private async resubscribe(): Promise<void> {
    const keyspace = this.keyspace;
    const channels = keyspace ? [...this.handlers.keys()].map((channel) => keyspace.channel(channel)) : [];
    try {
      if (channels.length > 0) await this.subscriber.subscribe(...channels);
    } catch (err) {
      this.logger?.warn({ err }, 'redis cache: re-subscribing failed; retrying on the next reconnect');
      return;
    } finally {
      for (const wake of [...this.resubscribed]) wake();
    }
    if (!this.subscriberWasDown) return;
    this.subscriberWasDown = false;
    for (const listener of this.resubscribeListeners) {
      try {
        listener();
      } catch (err) {
        this.logger?.warn({ err }, 'redis cache: onResubscribe listener threw');
      }
    }
  }

  /** Resolves true when `arm`'s callback fires, false after `timeoutMs` or on close(); never leaves a timer. */
  private bounded(timeoutMs: number, arm: (wake: () => void) => () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (woken: boolean): void => {
        clearTimeout(timer);
        disarm();
        this.waits.delete(cancel);
        resolve(woken);
      };
      const cancel = (): void => finish(false);
      const timer = setTimeout(cancel, timeoutMs);
      const disarm = arm(() => finish(true));
      this.waits.add(cancel);
    });
  }

  private dispatch(channel: string, message: string): void {
    const name = this.keyspace?.channelName(channel);
    if (name === undefined) return;
    for (const listener of this.handlers.get(name) ?? []) {
      try {
        listener(message);
      } catch (err) {
        this.logger?.warn({ err, channel }, 'redis cache: subscriber threw');
      }
    }
  }

  /** Logs the first error of each outage only (reconnect attempts would otherwise log every few seconds). */
  private watch(connection: Redis, role: string): void {
    let warned = false;
    connection.on('error', (err: Error) => {
      if (warned || this.closing) return;
      warned = true;
      this.logger?.warn({ err, role }, 'redis cache connection lost; reconnecting in the background');
    });
    connection.on('ready', () => {
      warned = false;
    });
  }
}

function toDecision([allowed, remaining, retryAfterMs, resetMs]: number[]): WindowDecision {
  return { allowed: allowed === 1, remaining: remaining ?? 0, retryAfterMs: retryAfterMs ?? 0, resetMs: resetMs ?? 0 };
}

/** Quits (or drops) a connection and waits until its socket is gone, so no handle outlives close(). */
/** Resolves true once the connection is ready, false after `timeoutMs` (for start-up and tests). */
export function whenReady(connection: Redis, timeoutMs: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      connection.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    connection.once('ready', onReady);
  });
}

export async function shutdown(connection: Redis): Promise<void> {
  const live = connection.status === 'ready' || connection.status === 'connect' || connection.status === 'connecting';
  const ended = live ? new Promise((resolve) => connection.once('end', resolve)) : undefined;
  if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
  else connection.disconnect();
  await ended;
}
