/** The meters and the UTC time arithmetic of usage (hours, days, months), shared by counting and reading. */

/** The meters (docs/api/usage.md), in the order the report lists them. */
export const METERS = ['ccu_peak', 'mau', 'messages', 'requests', 'server_seconds', 'storage_bytes'] as const;
export type Meter = (typeof METERS)[number];
/** Meters a node counts in memory and adds to the hour's row at each flush. */
export type CountedMeter = 'messages' | 'requests';

export type Granularity = 'hour' | 'day' | 'month';

export const HOUR_MS = 3_600_000;

export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** The first day of the UTC month of `ms`, as `YYYY-MM-01`. */
export function monthOf(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** Whether `ms` is the start of a bucket of this granularity, in UTC. */
export function isAligned(ms: number, granularity: Granularity): boolean {
  if (ms % HOUR_MS !== 0) return false;
  const date = new Date(ms);
  if (granularity === 'hour') return true;
  if (date.getUTCHours() !== 0) return false;
  return granularity === 'day' || date.getUTCDate() === 1;
}

/** The start of the bucket after the one starting at `ms`. */
export function nextBucket(ms: number, granularity: Granularity): number {
  if (granularity === 'hour') return ms + HOUR_MS;
  if (granularity === 'day') return ms + 24 * HOUR_MS;
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/** The bucket starts in [from, to); `from` is aligned. */
export function bucketStarts(from: number, to: number, granularity: Granularity): number[] {
  const starts: number[] = [];
  for (let start = from; start < to; start = nextBucket(start, granularity)) starts.push(start);
  return starts;
}

/** The number of buckets between two aligned instants, without listing them (to refuse a range first). */
export function bucketCount(from: number, to: number, granularity: Granularity): number {
  if (granularity === 'hour') return (to - from) / HOUR_MS;
  if (granularity === 'day') return (to - from) / (24 * HOUR_MS);
  const a = new Date(from);
  const b = new Date(to);
  return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
}

/** An hour is final once USAGE_FINAL_AFTER_SECONDS have passed since its end: it never changes again. */
export const isFinal = (bucketEnd: number, now: number, finalAfterMs: number): boolean => bucketEnd + finalAfterMs <= now;

/** The first hour that is not final yet at `now`: the hours from it on may still change. */
export const firstOpenHour = (now: number, finalAfterMs: number): number => hourStart(now - finalAfterMs - HOUR_MS) + HOUR_MS;
