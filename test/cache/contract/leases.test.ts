/**
 * The cache contract, leases: a capped set of members with their own expiry, the cap exact under concurrency
 * and shared by every node. Then the memory backend's lease expiry under a controlled clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCache } from '../../../src/internal/cache/memory.js';
import { eventually } from '../../support/eventually.js';
import { cacheContract, key } from './backends.js';

cacheContract('leases', ({ node, first, last }) => {
  it('enforces the cap exactly under 100 parallel acquires, across every node', async () => {
    const set = key('cap');
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => node(i).acquireLease(set, `m${i}`, 10, 60_000)));
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

  it('lists the live members on every node, without the released or expired ones', async () => {
    const set = key('list');
    assert.deepEqual(await first().listLeases(set), []);
    await first().acquireLease(set, 'a', 10, 60_000);
    await last().acquireLease(set, 'b', 10, 60_000);
    await first().acquireLease(set, 'short', 10, 100);
    await last().acquireLease(set, 'gone', 10, 60_000);
    await first().releaseLease(set, 'gone');
    await eventually(async () => (await last().listLeases(set)).length === 2, 5_000, 'the short lease to expire');
    assert.deepEqual((await first().listLeases(set)).sort(), ['a', 'b']);
    assert.deepEqual((await last().listLeases(set)).sort(), ['a', 'b']);
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
    await eventually(async () => (await last().acquireLease(set, 'b', 1, 60_000)).acquired, 5_000, 'the expired lease to free its slot');
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
    await eventually(async () => (await last().countLeases(set)) === 0, 5_000, 'unrenewed leases to expire');
  });
});

describe('MemoryCache with a controlled clock: leases', () => {
  it('expires leases by its clock', async () => {
    let t = 0;
    const cache = new MemoryCache({ now: () => t });
    await cache.acquireLease('s', 'm', 1, 100);
    t = 99;
    assert.equal(await cache.countLeases('s'), 1);
    t = 100;
    assert.equal(await cache.countLeases('s'), 0);
    await cache.close();
  });
});
