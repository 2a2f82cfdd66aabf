/**
 * Reading usage (GET /v1/admin/tenants/{tenant_id}/usage): checks the range, combines the hourly rows per
 * bucket in the database (sums; ccu_peak its highest hour) and lists every bucket of every meter, zeros
 * included, ordered by start and then meter.
 */
import { notFound, validation } from '../../internal/errors/app-error.js';
import { HOUR_MS, METERS, bucketCount, bucketStarts, hourStart, isAligned, isFinal, nextBucket, type Granularity, type Meter } from './meters.js';
import type { UsageStore } from './usage-store.js';

export interface UsageQuery {
  from: string;
  to: string;
  granularity: Granularity;
  meter?: Meter;
  project_id?: string;
}

export interface UsageItem {
  start: string;
  meter: Meter;
  project_id: string | null;
  value: number;
  final: boolean;
}

export interface UsageReport {
  tenant_id: string;
  granularity: Granularity;
  from: string;
  to: string;
  items: UsageItem[];
}

const MAX_BUCKETS: Record<Granularity, number> = { hour: 744, day: 366, month: 120 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

function instant(name: 'from' | 'to', text: string, granularity: Granularity): number {
  const ms = RFC3339.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw validation(`${name} must be an RFC 3339 date-time such as 2026-01-01T00:00:00Z.`);
  // Nothing was metered before 1970; the bound also keeps year 0 and its like away from the database.
  if (ms < 0) throw validation(`${name} must not be before 1970.`);
  if (!isAligned(ms, granularity)) throw validation(`${name} must be aligned to the ${granularity} in UTC.`);
  return ms;
}

export class UsageService {
  constructor(
    private readonly store: UsageStore,
    private readonly finalAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async report(tenantId: string, query: UsageQuery): Promise<UsageReport> {
    const { granularity } = query;
    const from = instant('from', query.from, granularity);
    const to = instant('to', query.to, granularity);
    if (from >= to) throw validation('from must be before to.');
    if (bucketCount(from, to, granularity) > MAX_BUCKETS[granularity]) {
      throw validation(`A ${granularity} range covers at most ${MAX_BUCKETS[granularity]} ${granularity}s.`);
    }
    const owner = await this.store.owns(tenantId, query.project_id);
    if (!owner.tenant) throw notFound('No such tenant.');
    if (!owner.project) throw notFound('No such project in this tenant.');

    const totals = await this.store.totals({
      tenantId,
      ...(query.project_id === undefined ? {} : { projectId: query.project_id }),
      ...(query.meter === undefined ? {} : { meter: query.meter }),
      from: new Date(from),
      to: new Date(to),
      granularity,
    });
    const byKey = new Map(totals.map((row) => [`${row.start.getTime()}/${row.meter}`, row.total]));
    const meters = query.meter === undefined ? [...METERS].sort() : [query.meter];
    const now = this.now();
    const items: UsageItem[] = [];
    for (const start of bucketStarts(from, to, granularity)) {
      const end = nextBucket(start, granularity);
      for (const meter of meters) {
        const total = byKey.get(`${start}/${meter}`) ?? 0n;
        items.push({
          start: new Date(start).toISOString(),
          meter,
          project_id: query.project_id ?? null,
          value: meter === 'storage_bytes' ? meanOfHours(total, start, end, now) : Number(total),
          final: isFinal(end, now, this.finalAfterMs),
        });
      }
    }
    return { tenant_id: tenantId, granularity, from: new Date(from).toISOString(), to: new Date(to).toISOString(), items };
  }
}

/**
 * A gauge over a day or a month is the mean of its hours (an hour with no sample counts as zero). The hours
 * not begun yet are not counted: today's mean is over the hours so far. Rounded down to a whole byte.
 */
function meanOfHours(total: bigint, start: number, end: number, now: number): number {
  const begun = Math.min(end, hourStart(now) + HOUR_MS);
  const hours = Math.max(1, Math.round((begun - start) / HOUR_MS));
  return Number(total / BigInt(hours));
}
