/**
 * The connection-cap lease store: one contract suite over the memory backend (one node) and Redis (two
 * nodes, i.e. two clients with their own ConnectionCaps sharing one Redis), when REDIS_URL is set.
 * A "dead" node is simulated by severing its backend: its calls fail, as a killed process's would never come.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import type { CacheBackend } from '../../src/internal/cache/cache.js';
import { MemoryCache } from '../../src/internal/cache/memory.js';
import { RedisCache } from '../../src/internal/cache/redis.js';
import { ConnectionCaps, type CapHolder, type CapLease } from '../../src/modules/realtime/connection-caps.js';
import { eventually } from '../support/eventually.js';

// Renewed every TTL/3: long enough that a loaded machine's timers still renew in time, short enough to wait out.
const TTL = 1_500;

/** A backend whose calls all fail while `severed` is set (a partitioned or dead node). */
function severable(backend: CacheBackend): { backend: CacheBackend; sever(on: boolean): void } {
  let severed = false;
  const proxy = new Proxy(backend, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (severed ? Promise.reject(new Error('severed')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { backend: proxy, sever: (on) => (severed = on) };
}

interface Node {
  caps: ConnectionCaps;
  sever(on: boolean): void;
  fallbacks: number;
}

interface Backend {
  name: string;
  /** Backends (one per node) sharing one state. */
  open(): Promise<CacheBackend[]>;
}

const backends: Backend[] = [{ name: 'memory', open: async () => { const shared = new MemoryCache(); return [shared, shared]; } }];
if (process.env.REDIS_URL) {
  const url = process.env.REDIS_URL;
  backends.push({
    name: 'redis',
    open: async () => {
      const keyPrefix = `ggscale-test-${randomBytes(6).toString('hex')}:`;
      const namespace = randomBytes(8).toString('hex');
      const nodes = [new RedisCache({ url, keyPrefix, namespace }), new RedisCache({ url, keyPrefix, namespace })];
      for (const node of nodes) assert.ok(await node.waitReady(2_000), 'redis reachable');
      return nodes;
    },
  });
}

const holder = (tenantId: string, playerId: string): CapHolder => ({ tenantId, projectId: '7', playerId });
const newTenant = () => String(randomInt(1, 2 ** 40));

for (const backend of backends) {
  describe(`connection caps contract: ${backend.name}`, () => {
    let shared: CacheBackend[] = [];
    const nodes: Node[] = [];
    const locals: MemoryCache[] = [];
    const node = (i: number) => nodes[i % nodes.length]!;

    /** A node: its own ConnectionCaps over its own (severable) handle on the shared state, and its own fallback. */
    const addNode = (i: number, ttlMs = TTL): Node => {
      const handle = severable(shared[i % shared.length]!);
      const local = new MemoryCache();
      locals.push(local);
      const created: Node = {
        caps: new ConnectionCaps(handle.backend, local, { ttlMs, onFallback: () => created.fallbacks++ }),
        sever: (on) => handle.sever(on),
        fallbacks: 0,
      };
      nodes.push(created);
      return created;
    };
    const count = (key: string) => shared[0]!.countLeases(key);

    before(async () => {
      shared = await backend.open();
      addNode(0);
      addNode(1);
    });
    after(async () => {
      for (const n of nodes) await n.caps.close();
      for (const local of locals) await local.close();
      for (const cache of new Set(shared)) await cache.close();
    });

    it('holds a player to exactly its cap across nodes; a release frees a slot at once', async () => {
      const who = holder(newTenant(), '1');
      const leases: CapLease[] = [];
      for (let i = 0; i < 3; i++) {
        const outcome = await node(i).caps.acquire(who, { tenant: 100, player: 3 });
        assert.ok(outcome.ok, `slot ${i + 1}`);
        leases.push(outcome.lease);
      }
      assert.deepEqual(await node(1).caps.acquire(who, { tenant: 100, player: 3 }), { ok: false, reason: 'player-cap', count: 3 });
      await leases[0]!.release();
      await leases[0]!.release(); // idempotent
      assert.ok((await node(1).caps.acquire(who, { tenant: 100, player: 3 })).ok);
      assert.equal(await count(ConnectionCaps.keys(who).player), 3);
    });

    it('holds a tenant to exactly its cap; a refusal by the tenant cap keeps no player slot', async () => {
      const tenant = newTenant();
      for (let i = 0; i < 4; i++) assert.ok((await node(i).caps.acquire(holder(tenant, String(i)), { tenant: 4, player: 5 })).ok);
      const late = holder(tenant, '99');
      assert.deepEqual(await node(0).caps.acquire(late, { tenant: 4, player: 5 }), { ok: false, reason: 'tenant-cap', count: 4 });
      assert.equal(await count(ConnectionCaps.keys(late).player), 0, 'the player lease taken first was given back');
      assert.equal(await count(ConnectionCaps.keys(late).tenant), 4);
    });

    it('is exact under concurrent attempts from several nodes', async () => {
      const tenant = newTenant();
      const one = holder(tenant, '1');
      const samePlayer = await Promise.all(Array.from({ length: 30 }, (_, i) => node(i).caps.acquire(one, { tenant: 1000, player: 5 })));
      assert.equal(samePlayer.filter((o) => o.ok).length, 5);
      const manyPlayers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => node(i).caps.acquire(holder(tenant, String(100 + i)), { tenant: 15, player: 5 })),
      );
      assert.equal(manyPlayers.filter((o) => o.ok).length, 10, '15 minus the 5 already held');
      assert.equal(await count(ConnectionCaps.keys(one).tenant), 15);
      let playerSlots = 0;
      for (let i = 0; i < 40; i++) playerSlots += await count(ConnectionCaps.keys(holder(tenant, String(100 + i))).player);
      assert.equal(playerSlots, 10, 'refused attempts hold no player slot');
    });

    it('treats a cap of 0 as no cap', async () => {
      const who = holder(newTenant(), '1');
      for (let i = 0; i < 8; i++) assert.ok((await node(i).caps.acquire(who, { tenant: 0, player: 0 })).ok);
      assert.equal(await count(ConnectionCaps.keys(who).player), 0, 'nothing is counted without a cap');
    });

    it('keeps renewed leases alive for many TTLs, and a dead node\'s leases expire within one TTL', async () => {
      const mortal = addNode(0);
      const who = holder(newTenant(), '1');
      for (let i = 0; i < 2; i++) assert.ok((await mortal.caps.acquire(who, { tenant: 10, player: 5 })).ok);
      assert.ok((await node(1).caps.acquire(who, { tenant: 10, player: 5 })).ok);
      const started = Date.now();
      while (Date.now() - started < 2 * TTL) {
        assert.equal(await count(ConnectionCaps.keys(who).player), 3, 'renewed leases stay live past their TTL');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      mortal.sever(true);
      const ms = await eventually(async () => (await count(ConnectionCaps.keys(who).player)) === 1, 3 * TTL, 'the dead node\'s slots to return');
      assert.ok(ms <= TTL + 500, `returned after ${ms} ms`);
      assert.equal(await count(ConnectionCaps.keys(who).tenant), 1, 'the survivor keeps its own');
    });

    it('puts back leases that expired while the backend was unreachable, once it answers again', async () => {
      const flaky = addNode(1);
      const who = holder(newTenant(), '1');
      for (let i = 0; i < 2; i++) assert.ok((await flaky.caps.acquire(who, { tenant: 10, player: 5 })).ok);
      flaky.sever(true);
      await eventually(async () => (await count(ConnectionCaps.keys(who).player)) === 0, 3 * TTL, 'leases to expire during the outage');
      flaky.sever(false);
      await eventually(async () => (await count(ConnectionCaps.keys(who).player)) === 2, 3 * TTL, 'the held connections to be counted again');
      assert.equal(await count(ConnectionCaps.keys(who).tenant), 2);
    });

    it('falls back to a per-node cap when the shared backend is unreachable', async () => {
      const cut = addNode(0);
      cut.sever(true);
      const who = holder(newTenant(), '1');
      for (let i = 0; i < 2; i++) assert.ok((await cut.caps.acquire(who, { tenant: 10, player: 2 })).ok);
      assert.equal((await cut.caps.acquire(who, { tenant: 10, player: 2 })).ok, false, 'still capped, on this node');
      assert.ok(cut.fallbacks >= 3);
      cut.sever(false);
    });

    it('releases everything this node holds on close()', async () => {
      const leaving = addNode(1);
      const who = holder(newTenant(), '1');
      for (let i = 0; i < 3; i++) assert.ok((await leaving.caps.acquire(who, { tenant: 10, player: 5 })).ok);
      assert.equal(leaving.caps.heldCount, 3);
      await leaving.caps.close();
      assert.equal(await count(ConnectionCaps.keys(who).player), 0);
      assert.equal(await count(ConnectionCaps.keys(who).tenant), 0);
    });
  });
}
