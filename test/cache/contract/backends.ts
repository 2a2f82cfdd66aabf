/**
 * The backends the cache contract runs against (in the style of colyseus' Presence.test.ts): each contract
 * file (budgets, leases, pub/sub, lifecycle) runs its tests on every backend. Memory always; Redis when
 * REDIS_URL is set, with a random key root per suite so parallel runs never collide, and always in CI (which
 * sets it: a Redis that is missing there fails these suites instead of skipping them). Each backend provides
 * one or more "nodes" (instances); the tests spread their calls over all nodes, which for Redis proves that
 * state is shared across nodes and not merely per process.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CacheBackend } from '../../../src/internal/cache/cache.js';
import { MemoryCache } from '../../../src/internal/cache/memory.js';
import { RedisCache } from '../../../src/internal/cache/redis.js';
import { eventually } from '../../support/eventually.js';

export const REDIS_URL = process.env.REDIS_URL;

/** The `skip` of a suite that needs Redis: none when REDIS_URL is set, nor in CI (where it must be). */
export const redisSkip: string | false = REDIS_URL || process.env.CI ? false : 'REDIS_URL not set';

export const quietLogger = { warn(): void {} };

/** A fresh key (or channel) name, so that tests never see each other's state. */
export const key = (label: string): string => `${label}:${randomBytes(6).toString('hex')}`;

export function pick(d: { allowed: boolean; remaining: number }): [boolean, number] {
  return [d.allowed, d.remaining];
}

/** Instances that share state (two for Redis, one for memory), filled in by the suite's `before`. */
export class Nodes {
  list: CacheBackend[] = [];
  // Arrow functions, so that a suite may destructure them.
  readonly node = (i: number): CacheBackend => this.list[i % this.list.length]!;
  readonly first = (): CacheBackend => this.node(0);
  readonly last = (): CacheBackend => this.node(this.list.length - 1);
}

/**
 * The Redis caches one suite opens, under its own key root: after() closes them, deletes every key written
 * under the root, and checks that no socket is left open (the process must be able to exit by itself).
 */
export class RedisRun {
  readonly prefix = `ggscale-test:${randomBytes(6).toString('hex')}:`;
  readonly namespace = randomBytes(8).toString('hex');
  private readonly instances: RedisCache[] = [];
  private adminConnection: Redis | undefined;

  /** A connection outside any cache, to look at what the caches wrote and to kill their connections. */
  get admin(): Redis {
    this.adminConnection ??= new Redis(this.url());
    return this.adminConnection;
  }

  /** A cache bound to this run's namespace (still connecting: commands fail fast until it is ready). */
  cache(opts: { url?: string; keyPrefix?: string } = {}): RedisCache {
    const cache = new RedisCache({ url: opts.url ?? this.url(), keyPrefix: opts.keyPrefix ?? this.prefix, namespace: this.namespace, logger: quietLogger });
    this.instances.push(cache);
    return cache;
  }

  /** A cache that has connected. */
  async ready(opts: { keyPrefix?: string } = {}): Promise<RedisCache> {
    const cache = this.cache(opts);
    assert.equal(await cache.waitReady(2_000), true, `redis at ${this.url()} ready`);
    return cache;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.instances.map((c) => c.close()));
    if (this.adminConnection) {
      let cursor = '0';
      do {
        const [next, keys] = await this.admin.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await this.admin.del(...keys);
      } while (cursor !== '0');
      await this.admin.quit();
    }
    await eventually(async () => !process.getActiveResourcesInfo().includes('TCPSocketWrap'), 2_000, 'every TCP socket closed');
  }

  private url(): string {
    assert.ok(REDIS_URL, 'the Redis suites need REDIS_URL (CI must set it)');
    return REDIS_URL;
  }
}

/** Runs `body` as `cache contract: <backend>: <concern>` once per backend, each with its own nodes. */
export function cacheContract(concern: string, body: (nodes: Nodes, backend: 'memory' | 'redis') => void): void {
  describe(`cache contract: memory: ${concern}`, () => {
    const nodes = new Nodes();
    before(() => {
      nodes.list = [new MemoryCache()];
    });
    body(nodes, 'memory');
    after(async () => {
      await Promise.all(nodes.list.map((n) => n.close()));
    });
  });

  describe(`cache contract: redis: ${concern}`, { skip: redisSkip }, () => {
    const nodes = new Nodes();
    const run = new RedisRun();
    before(async () => {
      nodes.list = await Promise.all([run.ready(), run.ready()]);
    });
    body(nodes, 'redis');
    after(() => run.cleanup());
  });
}

/** Kills the connections a RedisCache named `name` (CLIENT SETNAME); returns how many. */
export async function killClients(admin: Redis, name: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  let killed = 0;
  for (const line of list.split('\n')) {
    const fields = Object.fromEntries(line.split(' ').map((f) => f.split('=', 2) as [string, string]));
    if (fields.name === name && fields.id) killed += Number(await admin.client('KILL', 'ID', fields.id));
  }
  return killed;
}
