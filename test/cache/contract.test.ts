/**
 * The cache contract: one suite, run against every backend (in the style of colyseus' Presence.test.ts).
 * Memory always; Redis when REDIS_URL is set, with a random key prefix per run so parallel runs never collide.
 * Each backend provides one or more "nodes" (instances); the budget and lease tests spread their calls over
 * all nodes, which for Redis proves that a budget is shared across nodes and not merely per process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { CacheBackend } from '../../src/internal/cache/cache.js';
import { MemoryCache } from '../../src/internal/cache/memory.js';
import { RedisCache } from '../../src/internal/cache/redis.js';
import { createCache } from '../../src/internal/cache/index.js';

const REDIS_URL = process.env.REDIS_URL;

const quietLogger = { warn(): void {} };

const key = (label: string): string => `${label}:${randomBytes(6).toString('hex')}`;

/** Polls `check` until it returns true; fails with `what` after `deadlineMs`. Returns the elapsed ms. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 5_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > deadlineMs) assert.fail(`timed out after ${deadlineMs} ms waiting for: ${what}`);
    await sleep(15);
  }
  return Date.now() - start;
}

interface Backend {
  /** Instances that share state (two for Redis, one for memory). */
  nodes(): Promise<CacheBackend[]>;
}

function cacheContract(name: string, backend: Backend): void {
  describe(`cache contract: ${name}`, () => {
    let nodes: CacheBackend[] = [];
    const node = (i: number): CacheBackend => nodes[i % nodes.length]!;
    const first = (): CacheBackend => node(0);
    const last = (): CacheBackend => node(nodes.length - 1);

    before(async () => {
      nodes = await backend.nodes();
    });

    it('reports its kind and is healthy', () => {
      for (const n of nodes) {
        assert.equal(n.kind, name);
        assert.equal(n.health(), 'ok');
      }
    });

    describe('budgets', () => {
      it('allows exactly `limit` hits, then refuses with remaining 0 and retryAfterMs > 0', async () => {
        const k = key('exact');
        for (let i = 0; i < 5; i++) {
          const d = await node(i).hit(k, 5, 60_000);
          assert.equal(d.allowed, true, `hit ${i + 1} allowed`);
          assert.equal(d.remaining, 4 - i);
          assert.ok(d.resetMs > 0 && d.resetMs <= 60_000, `resetMs ${d.resetMs}`);
          if (d.remaining > 0) assert.equal(d.retryAfterMs, 0);
        }
        const refused = await node(5).hit(k, 5, 60_000);
        assert.equal(refused.allowed, false);
        assert.equal(refused.remaining, 0);
        assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, `retryAfterMs ${refused.retryAfterMs}`);
        assert.ok(refused.resetMs >= refused.retryAfterMs && refused.resetMs <= 60_000, `resetMs ${refused.resetMs}`);
      });

      it('is exact for limits that do not divide the window', async () => {
        for (const limit of [3, 7, 49]) {
          const k = key(`odd${limit}`);
          const decisions = await Promise.all(Array.from({ length: limit + 3 }, (_, i) => node(i).hit(k, limit, 60_000)));
          assert.equal(decisions.filter((d) => d.allowed).length, limit, `limit ${limit}`);
        }
      });

      it('does not count refused hits', async () => {
        const k = key('refused');
        const window = 400;
        await first().hit(k, 2, window);
        await first().hit(k, 2, window);
        const firstRefusal = await first().hit(k, 2, window);
        assert.equal(firstRefusal.allowed, false);
        let lastRefusal = firstRefusal;
        for (let i = 0; i < 10; i++) lastRefusal = await node(i).hit(k, 2, window);
        assert.equal(lastRefusal.allowed, false);
        // Had the refusals been counted, the wait and the reset would have grown by 10 hits' worth.
        assert.ok(lastRefusal.retryAfterMs <= firstRefusal.retryAfterMs, `${lastRefusal.retryAfterMs} > ${firstRefusal.retryAfterMs}`);
        assert.ok(lastRefusal.resetMs <= window, `resetMs ${lastRefusal.resetMs}`);
        await eventually('full recovery within about one window', async () => (await last().peek(k, 2, window)).remaining === 2, window + 1_000);
      });

      it('recovers over time', async () => {
        const k = key('recover');
        const window = 300;
        for (let i = 0; i < 3; i++) assert.equal((await node(i).hit(k, 3, window)).allowed, true);
        const refused = await first().hit(k, 3, window);
        assert.equal(refused.allowed, false);
        const waited = await eventually('one hit allowed again', async () => (await last().hit(k, 3, window)).allowed);
        // Recovery is not immediate (allow generous slack for clock granularity and scheduling).
        assert.ok(waited >= refused.retryAfterMs / 2, `recovered after ${waited} ms, retryAfterMs was ${refused.retryAfterMs}`);
        await eventually('full recovery', async () => (await first().peek(k, 3, window)).remaining === 3);
        const fresh = await first().hit(k, 3, window);
        assert.deepEqual([fresh.allowed, fresh.remaining, fresh.retryAfterMs], [true, 2, 0]);
      });

      it('counts cost > 1', async () => {
        const k = key('cost');
        assert.deepEqual(pick(await first().hit(k, 10, 60_000, 4)), [true, 6]);
        assert.deepEqual(pick(await last().hit(k, 10, 60_000, 4)), [true, 2]);
        const refused = await first().hit(k, 10, 60_000, 4);
        assert.deepEqual(pick(refused), [false, 2], 'a refused costly hit leaves the remaining budget alone');
        assert.ok(refused.retryAfterMs > 0);
        assert.deepEqual(pick(await last().hit(k, 10, 60_000, 2)), [true, 0]);
        assert.equal((await first().hit(k, 10, 60_000)).allowed, false);
      });

      it('keeps keys independent', async () => {
        const a = key('a');
        const b = key('b');
        for (let i = 0; i < 3; i++) await first().hit(a, 3, 60_000);
        assert.equal((await first().hit(a, 3, 60_000)).allowed, false);
        assert.deepEqual(pick(await last().hit(b, 3, 60_000)), [true, 2]);
      });

      it('peek reads without counting', async () => {
        const k = key('peek');
        for (let i = 0; i < 5; i++) {
          const d = await node(i).peek(k, 3, 60_000);
          assert.deepEqual([d.allowed, d.remaining, d.retryAfterMs, d.resetMs], [true, 3, 0, 0]);
        }
        await first().hit(k, 3, 60_000, 3);
        const d = await last().peek(k, 3, 60_000);
        assert.deepEqual(pick(d), [false, 0]);
        assert.ok(d.retryAfterMs > 0 && d.resetMs > 0);
      });

      it('rejects budgets that make no sense', async () => {
        await assert.rejects(first().hit(key('bad'), 0, 1_000), RangeError);
        await assert.rejects(first().hit(key('bad'), 5, 0), RangeError);
        await assert.rejects(first().hit(key('bad'), 5, 1_000, 0), RangeError);
        await assert.rejects(first().peek(key('bad'), Number.NaN, 1_000), RangeError);
      });

      it('allows exactly `limit` of 200 parallel hits, across every node', async () => {
        const k = key('parallel');
        const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => node(i).hit(k, 50, 60_000)));
        assert.equal(decisions.filter((d) => d.allowed).length, 50);
        assert.equal((await first().peek(k, 50, 60_000)).remaining, 0);
      });
    });

    describe('leases', () => {
      it('enforces the cap exactly under 100 parallel acquires, across every node', async () => {
        const set = key('cap');
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => node(i).acquireLease(set, `m${i}`, 10, 60_000)),
        );
        assert.equal(results.filter((r) => r.acquired).length, 10);
        for (const r of results) assert.ok(r.count <= 10, `count ${r.count}`);
        assert.equal(await first().countLeases(set), 10);
        assert.equal(await last().countLeases(set), 10);
      });

      it('re-acquiring a live member succeeds without double counting, even at the cap', async () => {
        const set = key('reacquire');
        assert.deepEqual(await first().acquireLease(set, 'a', 2, 60_000), { acquired: true, count: 1 });
        assert.deepEqual(await last().acquireLease(set, 'a', 2, 60_000), { acquired: true, count: 1 });
        assert.deepEqual(await first().acquireLease(set, 'b', 2, 60_000), { acquired: true, count: 2 });
        assert.deepEqual(await last().acquireLease(set, 'a', 2, 60_000), { acquired: true, count: 2 });
        assert.deepEqual(await first().acquireLease(set, 'c', 2, 60_000), { acquired: false, count: 2 });
      });

      it('release frees a slot at once', async () => {
        const set = key('release');
        assert.equal((await first().acquireLease(set, 'a', 1, 60_000)).acquired, true);
        assert.equal((await last().acquireLease(set, 'b', 1, 60_000)).acquired, false);
        await last().releaseLease(set, 'a');
        assert.equal(await first().countLeases(set), 0);
        assert.deepEqual(await first().acquireLease(set, 'b', 1, 60_000), { acquired: true, count: 1 });
        await first().releaseLease(set, 'never-held'); // harmless
        assert.equal(await last().countLeases(set), 1);
      });

      it('an expired lease frees its slot without a release', async () => {
        const set = key('expire');
        assert.equal((await first().acquireLease(set, 'a', 1, 200)).acquired, true);
        assert.equal((await last().acquireLease(set, 'b', 1, 200)).acquired, false);
        await eventually('the expired lease to free its slot', async () => (await last().acquireLease(set, 'b', 1, 60_000)).acquired);
        assert.equal(await first().countLeases(set), 1);
      });

      it('renewLeases keeps leases alive past their original ttl', async () => {
        const set = key('renew');
        const ttl = 300;
        await first().acquireLease(set, 'a', 5, ttl);
        await last().acquireLease(set, 'b', 5, ttl);
        const until = Date.now() + ttl * 3;
        while (Date.now() < until) {
          await node(Math.floor(Math.random() * 2)).renewLeases(set, ['a', 'b', 'ghost'], ttl);
          assert.equal(await first().countLeases(set), 2, 'renewed leases stay live; renewing a non-member adds nothing');
          await sleep(ttl / 4);
        }
        await eventually('unrenewed leases to expire', async () => (await last().countLeases(set)) === 0);
      });
    });

    describe('values', () => {
      it('get/set/del', async () => {
        const k = key('kv');
        assert.equal(await first().get(k), null);
        await first().set(k, 'one', 60_000);
        assert.equal(await last().get(k), 'one');
        await last().set(k, 'two', 60_000);
        assert.equal(await first().get(k), 'two');
        await first().del(k);
        assert.equal(await last().get(k), null);
        await last().del(k); // deleting a missing key is harmless
      });

      it('setIfAbsent sets only once', async () => {
        const k = key('nx');
        assert.equal(await first().setIfAbsent(k, 'first', 60_000), true);
        assert.equal(await last().setIfAbsent(k, 'second', 60_000), false);
        assert.equal(await first().get(k), 'first');
        await first().del(k);
        assert.equal(await last().setIfAbsent(k, 'third', 60_000), true);
        assert.equal(await first().get(k), 'third');
      });

      it('values expire after their ttl', async () => {
        const k = key('ttl');
        const nx = key('ttl-nx');
        await first().set(k, 'v', 150);
        assert.equal(await first().setIfAbsent(nx, 'v', 150), true);
        assert.equal(await last().get(k), 'v');
        await eventually('the value to expire', async () => (await last().get(k)) === null);
        await eventually('the marker to expire', async () => await first().setIfAbsent(nx, 'again', 60_000));
        assert.equal(await last().get(nx), 'again');
      });
    });

    describe('pub/sub', () => {
      it('delivers a published message to subscribers, across nodes, per channel', async () => {
        const channel = key('chan');
        const got: string[] = [];
        const other: string[] = [];
        await first().subscribe(channel, (m) => got.push(m));
        await first().subscribe(`${channel}:other`, (m) => other.push(m));
        await last().publish(channel, 'hello');
        await eventually('the message', () => got.length === 1);
        assert.deepEqual(got, ['hello']);
        assert.deepEqual(other, []);
      });

      it('delivers asynchronously, never inside publish', async () => {
        const channel = key('async');
        const got: string[] = [];
        await first().subscribe(channel, (m) => got.push(m));
        const published = first().publish(channel, 'x');
        assert.deepEqual(got, []);
        await published;
        await eventually('the message', () => got.length === 1);
      });
    });

    after(async () => {
      await Promise.all(nodes.map((n) => n.close()));
    });
  });
}

function pick(d: { allowed: boolean; remaining: number }): [boolean, number] {
  return [d.allowed, d.remaining];
}

// ---------------------------------------------------------------------------------------------------------

cacheContract('memory', { nodes: async () => [new MemoryCache()] });

const prefix = `ggscale-test:${randomBytes(6).toString('hex')}:`;
const namespace = randomBytes(8).toString('hex');
const redisInstances: RedisCache[] = [];
function redisCache(opts: { url?: string; keyPrefix?: string } = {}): RedisCache {
  const cache = new RedisCache({ url: opts.url ?? REDIS_URL!, keyPrefix: opts.keyPrefix ?? prefix, namespace, logger: quietLogger });
  redisInstances.push(cache);
  return cache;
}
/** A RedisCache that has connected (commands fail fast until then, by design). */
async function readyRedisCache(opts: { keyPrefix?: string } = {}): Promise<RedisCache> {
  const cache = redisCache(opts);
  assert.equal(await cache.waitReady(2_000), true, 'redis ready');
  return cache;
}

describe('redis', { skip: REDIS_URL ? false : 'REDIS_URL not set' }, () => {
  cacheContract('redis', {
    async nodes() {
      return Promise.all([readyRedisCache(), readyRedisCache()]);
    },
  });

  let admin: Redis;
  before(() => {
    admin = new Redis(REDIS_URL!);
  });

  it('isolates key prefixes', async () => {
    const [a, b] = await Promise.all([readyRedisCache({ keyPrefix: `${prefix}a:` }), readyRedisCache({ keyPrefix: `${prefix}b:` })]);
    await a.hit('shared', 1, 60_000);
    assert.equal((await a.hit('shared', 1, 60_000)).allowed, false);
    assert.equal((await b.hit('shared', 1, 60_000)).allowed, true);
    assert.ok((await admin.exists(`${prefix}a:${namespace}:shared`)) === 1, 'the root and the namespace are prepended to the key');
    await Promise.all([a.close(), b.close()]);
  });

  it('is degraded and fails fast when Redis is unreachable', async () => {
    const down = redisCache({ url: 'redis://127.0.0.1:1' });
    assert.equal(down.health(), 'degraded');
    const start = Date.now();
    await assert.rejects(down.hit('k', 5, 1_000));
    await assert.rejects(down.acquireLease('s', 'm', 1, 1_000));
    assert.ok(Date.now() - start < 2_000, `rejected after ${Date.now() - start} ms`);
    assert.equal(down.health(), 'degraded');
    await down.close();
  });

  it('createCache starts degraded, without throwing, when Redis is unreachable', async () => {
    const start = Date.now();
    const cache = await createCache({ backend: 'redis', redisUrl: 'redis://127.0.0.1:1', keyPrefix: prefix, logger: quietLogger });
    assert.ok(Date.now() - start < 1_500, `createCache took ${Date.now() - start} ms`);
    assert.equal(cache.kind, 'redis');
    assert.equal(cache.health(), 'degraded');
    await cache.close();
  });

  it('createCache waits for a reachable Redis and is healthy', async () => {
    const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL!, keyPrefix: prefix, namespace, logger: quietLogger });
    assert.equal(cache.health(), 'ok');
    await cache.close();
  });

  it('recovers health after the command connection drops', async () => {
    const cache = await readyRedisCache({ keyPrefix: `${prefix}reconnect:` });
    assert.ok((await killClients(admin, `${prefix}reconnect:cmd`)) >= 1, 'killed the command connection');
    await eventually('degraded', () => cache.health() === 'degraded');
    await assert.rejects(cache.hit('k', 1, 60_000), 'fails fast while disconnected');
    await eventually('healthy again', () => cache.health() === 'ok');
    assert.equal((await cache.hit('k', 1, 60_000)).allowed, true);
    await cache.close();
  });

  it('re-subscribes after the subscriber connection drops and tells onResubscribe listeners', async () => {
    const p = `${prefix}resub:`;
    const [sub, pub] = await Promise.all([readyRedisCache({ keyPrefix: p }), readyRedisCache({ keyPrefix: p })]);
    let resubscribed = 0;
    sub.onResubscribe(() => resubscribed++);
    const got: string[] = [];
    await sub.subscribe('inval', (m) => got.push(m));
    await pub.publish('inval', 'before');
    await eventually('the first message', () => got.length === 1);
    assert.equal(resubscribed, 0, 'the first connection is not a re-subscription');

    assert.ok((await killClients(admin, `${p}sub`)) >= 1, 'killed the subscriber connection');
    await eventually('onResubscribe', () => resubscribed === 1);
    await pub.publish('inval', 'after');
    await eventually('a message after re-subscribing', () => got.length === 2);
    assert.deepEqual(got, ['before', 'after']);
    await Promise.all([sub.close(), pub.close()]);
  });

  it('subscribe() on a fresh instance is live when it resolves', async () => {
    const p = `${prefix}fresh:`;
    const pub = await readyRedisCache({ keyPrefix: p });
    const sub = redisCache({ keyPrefix: p }); // still connecting
    const got: string[] = [];
    await sub.subscribe('c', (m) => got.push(m));
    await pub.publish('c', 'first');
    await eventually('the message', () => got.length === 1);
    await Promise.all([sub.close(), pub.close()]);
  });

  it('close() is idempotent', async () => {
    const cache = redisCache();
    await cache.close();
    await cache.close();
  });

  after(async () => {
    await Promise.all(redisInstances.map((c) => c.close()));
    // Clean up every key this run wrote.
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    await admin.quit();
    // No sockets left open: the process must be able to exit by itself.
    await eventually('every TCP socket closed', () => !process.getActiveResourcesInfo().includes('TCPSocketWrap'), 2_000);
  });
});

/** Kills the connections a RedisCache named `name` (CLIENT SETNAME); returns how many. */
async function killClients(admin: Redis, name: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  let killed = 0;
  for (const line of list.split('\n')) {
    const fields = Object.fromEntries(line.split(' ').map((f) => f.split('=', 2) as [string, string]));
    if (fields.name === name && fields.id) killed += Number(await admin.client('KILL', 'ID', fields.id));
  }
  return killed;
}

describe('MemoryCache with a controlled clock', () => {
  it('computes exact waits (GCRA)', async () => {
    let t = 1_000_000;
    const cache = new MemoryCache({ now: () => t });
    // limit 4 per 1000 ms: one hit's worth of budget comes back every 250 ms.
    for (let i = 0; i < 4; i++) await cache.hit('k', 4, 1_000);
    const refused = await cache.hit('k', 4, 1_000);
    assert.deepEqual(refused, { allowed: false, remaining: 0, retryAfterMs: 250, resetMs: 1_000 });
    t += 100;
    assert.deepEqual(await cache.peek('k', 4, 1_000), { allowed: false, remaining: 0, retryAfterMs: 150, resetMs: 900 });
    t += 150;
    assert.deepEqual(await cache.hit('k', 4, 1_000), { allowed: true, remaining: 0, retryAfterMs: 250, resetMs: 1_000 });
    t += 1_000;
    assert.deepEqual(await cache.peek('k', 4, 1_000), { allowed: true, remaining: 4, retryAfterMs: 0, resetMs: 0 });
    await cache.close();
  });

  it('keeps large bursts exact despite floating-point rounding', async () => {
    const cache = new MemoryCache({ now: () => 0 });
    let allowed = 0;
    for (let i = 0; i < 200_005; i++) if ((await cache.hit('big', 200_000, 3_600_000)).allowed) allowed++;
    assert.equal(allowed, 200_000);
    await cache.close();
  });

  it('expires values and leases by its clock', async () => {
    let t = 0;
    const cache = new MemoryCache({ now: () => t });
    await cache.set('v', 'x', 100);
    await cache.acquireLease('s', 'm', 1, 100);
    t = 99;
    assert.equal(await cache.get('v'), 'x');
    assert.equal(await cache.countLeases('s'), 1);
    t = 100;
    assert.equal(await cache.get('v'), null);
    assert.equal(await cache.countLeases('s'), 0);
    await cache.close();
  });
});

describe('createCache', () => {
  it('builds a memory backend', async () => {
    const cache = await createCache({ backend: 'memory' });
    assert.equal(cache.kind, 'memory');
    assert.equal(cache.health(), 'ok');
    await cache.close();
  });
});
