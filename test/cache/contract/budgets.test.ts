/**
 * The cache contract, budgets: hit/peek count `cost` against `limit` per window exactly, shared by every node,
 * and recover over time. Then the memory backend's exact waits under a controlled clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../../../src/internal/cache/memory.js';
import { eventually } from '../../support/eventually.js';
import { cacheContract, key, pick } from './backends.js';

cacheContract('budgets', ({ node, first, last }) => {
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
    await eventually(async () => (await last().peek(k, 2, window)).remaining === 2, window + 1_000, 'full recovery within about one window');
  });

  it('recovers over time', async () => {
    const k = key('recover');
    const window = 300;
    for (let i = 0; i < 3; i++) assert.equal((await node(i).hit(k, 3, window)).allowed, true);
    const refused = await first().hit(k, 3, window);
    assert.equal(refused.allowed, false);
    const waited = await eventually(async () => (await last().hit(k, 3, window)).allowed, 5_000, 'one hit allowed again');
    // Recovery is not immediate (allow generous slack for clock granularity and scheduling).
    assert.ok(waited >= refused.retryAfterMs / 2, `recovered after ${waited} ms, retryAfterMs was ${refused.retryAfterMs}`);
    await eventually(async () => (await first().peek(k, 3, window)).remaining === 3, 5_000, 'full recovery');
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

describe('MemoryCache with a controlled clock: budgets', () => {
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
});
