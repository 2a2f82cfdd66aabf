/**
 * The rate-limit budget arithmetic (GCRA, "leaky bucket as a meter"), written twice on purpose and kept side by
 * side: gcra() for the in-process backend (memory.ts) and GCRA_CORE_LUA for the Redis one (redis.ts runs it in
 * a script, so a budget costs one atomic round trip). One implementation only would put a Redis round trip, or
 * a Lua VM, on every in-process hit. The two perform the same IEEE-double operations in the same order, so
 * they decide identically; test/cache/gcra.test.ts holds them to it (random inputs through both, the Lua on a
 * real Redis). Change one, change the other in the same commit.
 *
 * Each unit of cost uses windowMs/limit ms of the window; usage drains 1 ms per ms. A hit fits while usage
 * stays <= windowMs, so a full budget allows a burst of exactly `limit`, then one more every windowMs/limit.
 * Storing the usage (<= windowMs) instead of an absolute "theoretical arrival time" keeps the floating-point
 * numbers small. A burst still sums `limit` rounded copies of windowMs/limit (error up to about
 * limit * windowMs * 2e-16), so comparisons allow windowMs * 1e-9: bursts stay exact for limits up to
 * ~4 million, and a hit is let in at most a billionth of the window early.
 */
import type { WindowDecision } from './cache.js';

/** Rejects arguments that would turn the arithmetic into NaN/Infinity (and, on Redis, poison the stored state). */
export function checkBudget(limit: number, windowMs: number, cost: number): void {
  if (!(limit >= 1 && windowMs > 0 && cost > 0 && Number.isFinite(limit * windowMs * cost))) {
    throw new RangeError(`invalid budget: limit ${limit}, windowMs ${windowMs}, cost ${cost}`);
  }
}

/** The usage stored as `level` at time `at`, drained to time `now` (a clock that went back drains nothing). */
export function drain(level: number, at: number, now: number): number {
  return Math.max(0, level - Math.max(0, now - at));
}

/**
 * Decides one hit (`count`) or one look (`count` false) against a budget whose usage is `level`. Returns the
 * decision and the usage to store when the hit was allowed (the same `level` for a refusal or a look).
 */
export function gcra(
  level: number,
  limit: number,
  windowMs: number,
  cost: number,
  count: boolean,
): { decision: WindowDecision; level: number } {
  const unit = windowMs / limit;
  const epsilon = windowMs * 1e-9;
  const fits = level + cost * unit <= windowMs + epsilon;
  const after = fits && count ? level + cost * unit : level;
  const remaining = Math.max(0, Math.floor((windowMs - after + epsilon) / unit));
  let retryAfterMs = 0;
  if (count && !fits) retryAfterMs = Math.ceil(level + cost * unit - windowMs - epsilon); // until this very hit fits
  else if (remaining === 0) retryAfterMs = Math.ceil(after + unit - windowMs - epsilon); // until one more hit fits
  const resetMs = Math.max(0, Math.ceil(after - epsilon));
  return {
    decision: { allowed: count ? fits : remaining > 0, remaining, retryAfterMs: Math.max(0, retryAfterMs), resetMs },
    level: after,
  };
}

/**
 * drain() and gcra() in Lua, line for line (Redis runs Lua 5.1, whose numbers are the same doubles). Defines
 * two local functions for the script that follows it; gcra returns allowed, remaining, retryAfterMs, resetMs
 * and the usage to store.
 */
export const GCRA_CORE_LUA = `local function gcra_drain(level, at, now)
  return math.max(0, level - math.max(0, now - at))
end
local function gcra(level, limit, window, cost, count)
  local unit = window / limit
  local epsilon = window * 1e-9
  local fits = level + cost * unit <= window + epsilon
  local after = level
  if fits and count then after = level + cost * unit end
  local remaining = math.max(0, math.floor((window - after + epsilon) / unit))
  local retry = 0
  if count and not fits then retry = math.ceil(level + cost * unit - window - epsilon)
  elseif remaining == 0 then retry = math.ceil(after + unit - window - epsilon) end
  local allowed = fits
  if not count then allowed = remaining > 0 end
  return allowed, remaining, math.max(0, retry), math.max(0, math.ceil(after - epsilon)), after
end`;

/**
 * The whole budget script: KEYS[1] the budget (a hash of the usage and when it was measured); ARGV limit,
 * windowMs, cost, count (1 = hit, 0 = peek). Returns allowed (1/0), remaining, retryAfterMs, resetMs.
 * `clock` is Lua that sets a local `now` in ms: the server's TIME in redis.ts (so nodes with skewed clocks
 * share one budget), ARGV[5] in the equivalence test.
 */
export function gcraBudgetLua(clock: string): string {
  return `${GCRA_CORE_LUA}
${clock}
local limit, window, cost, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local level = 0
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
if state[1] then level = gcra_drain(tonumber(state[1]), tonumber(state[2]), now) end
local allowed, remaining, retry, reset, after = gcra(level, limit, window, cost, count)
if allowed and count then
  -- %.17g: Lua's default 14 digits would round the stored numbers
  redis.call('HSET', KEYS[1], 'level', string.format('%.17g', after), 'at', string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(after) + 1)
end
return { allowed and 1 or 0, remaining, retry, reset }`;
}
