/**
 * A milliseconds clock in the form lru-cache's `perf` option takes. lru-cache reads an entry's start time
 * of 0 as "no TTL", so a clock that reads 0 (a test's, at its start) is nudged to the smallest positive
 * number, which changes no age; entries would otherwise never expire.
 */
export function lruClock(now: () => number): { now(): number } {
  return { now: () => now() || Number.MIN_VALUE };
}
