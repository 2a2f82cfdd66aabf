/**
 * The budget arithmetic exists twice (src/internal/cache/gcra.ts): gcra()/drain() in TypeScript for the
 * memory backend, and the same in Lua for the Redis script. These properties feed random budgets (limits,
 * windows, costs, usage levels, time steps) through both, the Lua on the real Redis (REDIS_URL; CI sets it,
 * and there a missing Redis fails this file), and require the same decisions to the bit: allowed, remaining,
 * retry-after, reset and the usage left behind.
 *
 * 1. The arithmetic alone: drain() then gcra() against GCRA_CORE_LUA's functions, one call each.
 * 2. The backends' whole budget: a sequence of hits and peeks on one key, through MemoryCache (on a clock the
 *    test sets) and through the script RedisCache runs (gcraBudgetLua, its clock swapped for the same times).
 *    What Redis stores between calls (a hash, the numbers printed as text) must be the very doubles the
 *    TypeScript keeps: a decision rarely shows a rounded state (the comparisons allow a billionth of the
 *    window), so the state is compared after every step as well.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { WindowDecision } from '../../src/internal/cache/cache.js';
import { drain, gcra, gcraBudgetLua, GCRA_CORE_LUA } from '../../src/internal/cache/gcra.js';
import { MemoryCache } from '../../src/internal/cache/memory.js';
import { REDIS_URL, redisSkip } from './contract/backends.js';

/** ARGV: stored level, at, now, limit, windowMs, cost, count. Returns the decision, then the drained and the new level. */
const CORE_HARNESS = `${GCRA_CORE_LUA}
local level = gcra_drain(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local allowed, remaining, retry, reset, after = gcra(level, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1')
return { allowed and 1 or 0, remaining, retry, reset, string.format('%.17g', level), string.format('%.17g', after) }`;

/**
 * RedisCache's script with the time given as ARGV[5] instead of read from the server; returns its reply, then
 * the stored state (level, at; '' when none). The test's time is not the server's, so the expiry the script
 * sets (which follows the server's clock) is lifted afterwards, in the same atomic call: the key then holds its
 * state until drained by the test's clock, as MemoryCache's does.
 */
const BUDGET_AT = `local function budget()
${gcraBudgetLua('local now = tonumber(ARGV[5])')}
end
local reply = budget()
redis.call('PERSIST', KEYS[1])
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
return { reply[1], reply[2], reply[3], reply[4], state[1] or '', state[2] or '' }`;

interface Harness {
  gcraCore(...argv: (number | string)[]): Promise<[number, number, number, number, string, string]>;
  gcraBudgetAt(key: string, limit: number, windowMs: number, cost: number, count: 0 | 1, now: number): Promise<[number, number, number, number, string, string]>;
}

const toDecision = ([allowed, remaining, retryAfterMs, resetMs]: number[]): WindowDecision => ({
  allowed: allowed === 1,
  remaining: remaining!,
  retryAfterMs: retryAfterMs!,
  resetMs: resetMs!,
});

/** Limits and windows as configured (integers), now and then fractional ones, which the API also takes. */
const budget = fc.record({
  limit: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 1_000_000 }), weight: 4 }, fc.double({ min: 1, max: 10_000, noNaN: true })),
  windowMs: fc.oneof(
    { arbitrary: fc.constantFrom(1_000, 60_000, 3_600_000), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 86_400_000 }), weight: 2 },
    fc.double({ min: 0.001, max: 86_400_000, noNaN: true }),
  ),
});

/** Costs: mostly one, else up to a little over the whole budget (whole or fractional). */
const costOf = (limit: number) =>
  fc.oneof(
    { arbitrary: fc.constant(1), weight: 3 },
    fc.integer({ min: 1, max: Math.ceil(limit) + 1 }),
    fc.double({ min: Number.MIN_VALUE, max: limit + 1, noNaN: true }),
  );

/** A multiple of `unit`, a random point, or an edge: usage levels and time steps sit on exact boundaries often. */
const around = (unit: number, span: number) =>
  fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 4 }).map((k) => k * unit),
    fc.double({ min: 0, max: span, noNaN: true }),
    fc.integer({ min: 0, max: 1_000_000 }).map((us) => us / 1_000), // whole microseconds, as Redis's TIME gives
  );

describe('GCRA: the TypeScript and the Lua arithmetic decide alike', { skip: redisSkip }, () => {
  let redis: Redis & Harness;
  const root = `ggscale-test-gcra-${randomBytes(6).toString('hex')}:`;

  before(async () => {
    assert.ok(REDIS_URL, 'this test needs REDIS_URL (CI must set it)');
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null }) as Redis & Harness;
    await redis.connect();
    redis.defineCommand('gcraCore', { numberOfKeys: 0, lua: CORE_HARNESS });
    redis.defineCommand('gcraBudgetAt', { numberOfKeys: 1, lua: BUDGET_AT });
  });

  after(async () => {
    if (redis?.status !== 'ready') return redis?.disconnect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${root}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
  });

  it('drain() and gcra() equal GCRA_CORE_LUA for any usage, time, budget and cost', async () => {
    const inputs = budget.chain(({ limit, windowMs }) =>
      fc.record({
        limit: fc.constant(limit),
        windowMs: fc.constant(windowMs),
        cost: costOf(limit),
        count: fc.boolean(),
        // Stored usage up to a little past the window (where rounding sits), and how long ago it was stored.
        stored: fc.oneof(around(windowMs / limit, windowMs * (1 + 1e-8)), fc.integer({ min: 0, max: 4 }).map((k) => windowMs - (k * windowMs) / limit)),
        at: fc.double({ min: 0, max: 2e12, noNaN: true }),
        elapsed: fc.oneof(around(windowMs / limit, windowMs * 2), fc.double({ min: -1_000, max: 0, noNaN: true })),
      }),
    );
    await fc.assert(
      fc.asyncProperty(inputs, async ({ limit, windowMs, cost, count, stored, at, elapsed }) => {
        const now = at + elapsed;
        const level = drain(stored, at, now);
        const expected = gcra(level, limit, windowMs, cost, count);
        const reply = await redis.gcraCore(stored, at, now, limit, windowMs, cost, count ? '1' : '0');
        assert.deepStrictEqual(toDecision(reply.slice(0, 4) as number[]), expected.decision);
        assert.equal(Number(reply[4]), level, 'the drained usage');
        assert.equal(Number(reply[5]), expected.level, 'the usage to store');
      }),
      { numRuns: 1_000 },
    );
  });

  it('MemoryCache and the Redis script give the same decisions, and keep the same state, over hits and peeks', async () => {
    const sequences = budget.chain(({ limit, windowMs }) => {
      const unit = windowMs / limit;
      const step = fc.record({
        // Time moves on by about a hit's worth, a random span, nothing, or (rarely) back: Redis's TIME can.
        dt: fc.oneof({ arbitrary: around(unit, windowMs * 2), weight: 6 }, fc.double({ min: -unit, max: 0, noNaN: true })),
        count: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)),
        cost: costOf(limit),
      });
      return fc.record({
        limit: fc.constant(limit),
        windowMs: fc.constant(windowMs),
        start: fc.integer({ min: 0, max: 2_000_000_000_000_000 }).map((us) => us / 1_000),
        steps: fc.array(step, { minLength: 1, maxLength: 40 }),
      });
    });
    await fc.assert(
      fc.asyncProperty(sequences, async ({ limit, windowMs, start, steps }) => {
        let t = start;
        const memory = new MemoryCache({ now: () => t });
        const key = `${root}${randomBytes(8).toString('hex')}`;
        // The state MemoryCache keeps (private to it): usage and when it was measured, stored by an allowed hit.
        let state: { level: number; at: number } | undefined;
        try {
          for (const [i, { dt, count, cost }] of steps.entries()) {
            t += dt;
            const ours = count ? await memory.hit('k', limit, windowMs, cost) : await memory.peek('k', limit, windowMs);
            const reply = await redis.gcraBudgetAt(key, limit, windowMs, count ? cost : 1, count ? 1 : 0, t);
            assert.deepStrictEqual(toDecision(reply.slice(0, 4) as number[]), ours, `step ${i}: the decision`);
            if (count && ours.allowed) {
              state = { level: gcra(state ? drain(state.level, state.at, t) : 0, limit, windowMs, cost, true).level, at: t };
            }
            const stored = reply[4] === '' ? undefined : { level: Number(reply[4]), at: Number(reply[5]) };
            assert.deepStrictEqual(stored, state, `step ${i}: the stored state (${reply[4]}, ${reply[5]})`);
          }
        } finally {
          await memory.close();
          await redis.del(key);
        }
      }),
      { numRuns: 200 },
    );
  });
});
