/**
 * The usage tables. Nodes write across tenants through the operator path (one transaction per flush, for
 * every tenant at once); the usage endpoint reads one tenant's rows the same way.
 *
 * Lock order: two nodes flushing at once upsert the same hourly rows; every statement writes its rows in key
 * order, and the statements run in the same order, so two flushes wait for each other but never deadlock.
 */
import type { Database, Queryable } from '../../internal/db/database.js';
import type { Granularity, Meter } from './meters.js';
import type { UsageBatch } from './usage-counters.js';

const ADD_ON_CONFLICT = 'on conflict (tenant_id, project_id, meter, hour) do update set value = usage_hourly.value + excluded.value';

/** The players counted for the first time this month; the hour each was first seen gets them. */
const COUNT_PLAYERS_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::text::jsonb) as x(tenant_id bigint, project_id bigint, player_id bigint, month date, at timestamptz)
  ), counted as (
    insert into usage_mau (tenant_id, project_id, month, player_id, first_at)
    select i.tenant_id, i.project_id, i.month, i.player_id, i.at
      from input i join projects p on p.tenant_id = i.tenant_id and p.id = i.project_id
     order by 1, 2, 3, 4
    on conflict do nothing
    returning tenant_id, project_id, first_at
  )
  insert into usage_hourly (tenant_id, project_id, meter, hour, value)
  select tenant_id, project_id, 'mau', date_trunc('hour', first_at, 'UTC') as hour, count(*) from counted
   group by 1, 2, 4 order by 1, 2, 4
  ${ADD_ON_CONFLICT}`;

/** Adds the batch's counts; rows of a project deleted meanwhile are dropped (their foreign key is gone). */
const ADD_COUNTS_SQL = `
  insert into usage_hourly (tenant_id, project_id, meter, hour, value)
  select x.tenant_id, x.project_id, x.meter, x.hour, x.value
    from jsonb_to_recordset($1::text::jsonb) as x(tenant_id bigint, project_id bigint, meter text, hour timestamptz, value bigint)
    join projects p on p.tenant_id = x.tenant_id and p.id = x.project_id
   order by 1, 2, 3, 4
  ${ADD_ON_CONFLICT}`;

/**
 * The storage gauge: every project's stored bytes now, as this hour's value (the last sample wins). It reads
 * the storage module's running totals (one row per owner), not the objects; an unchanged value is not rewritten.
 */
const SAMPLE_STORAGE_SQL = `
  insert into usage_hourly (tenant_id, project_id, meter, hour, value)
  select tenant_id, project_id, 'storage_bytes', $1::timestamptz, sum(bytes) from storage_usage
   group by 1, 2 order by 1, 2
  on conflict (tenant_id, project_id, meter, hour) do update set value = excluded.value
   where usage_hourly.value is distinct from excluded.value`;

/** Peaks combine with the highest: several nodes sample the same lease sets, in any order, retried or not. */
const ADD_PROJECT_PEAKS_SQL = `
  insert into usage_hourly (tenant_id, project_id, meter, hour, value)
  select x.tenant_id, x.project_id, 'ccu_peak', x.hour, x.value
    from jsonb_to_recordset($1::text::jsonb) as x(tenant_id bigint, project_id bigint, hour timestamptz, value bigint)
    join projects p on p.tenant_id = x.tenant_id and p.id = x.project_id
   order by 1, 2, 4
  on conflict (tenant_id, project_id, meter, hour) do update set value = excluded.value
   where usage_hourly.value < excluded.value`;

const ADD_TENANT_PEAKS_SQL = `
  insert into usage_tenant_hourly (tenant_id, meter, hour, value)
  select x.tenant_id, 'ccu_peak', x.hour, x.value
    from jsonb_to_recordset($1::text::jsonb) as x(tenant_id bigint, hour timestamptz, value bigint)
    join tenants t on t.id = x.tenant_id
   order by 1, 3
  on conflict (tenant_id, meter, hour) do update set value = excluded.value
   where usage_tenant_hourly.value < excluded.value`;

/**
 * server_seconds of every open hour ($1 = the first, up to the hour of $2 = now), recomputed from the
 * allocations: each one's overlap of [allocated_at, ended_at or now) with the hour, summed per project and
 * rounded down. A written value replaces the old one (it only grows while the hour is open), so any node may
 * run it, as often as it likes. Only allocations that overlap the open hours are read
 * (fleet_allocations_ended_idx: still running, or ended since $1).
 */
const MEASURE_SERVER_SECONDS_SQL = `
  insert into usage_hourly (tenant_id, project_id, meter, hour, value)
  select a.tenant_id, a.project_id, 'server_seconds', h.hour,
         floor(sum(extract(epoch from least(coalesce(a.ended_at, $2), h.hour + interval '1 hour') - greatest(a.allocated_at, h.hour))))::bigint
    from fleet_allocations a
    join generate_series($1::timestamptz, $2::timestamptz, interval '1 hour') as h(hour)
      on a.allocated_at < h.hour + interval '1 hour' and coalesce(a.ended_at, $2) > h.hour
   where (a.ended_at is null or a.ended_at > $1) and a.allocated_at is not null and a.allocated_at < $2
   group by 1, 2, 4 order by 1, 2, 4
  on conflict (tenant_id, project_id, meter, hour) do update set value = excluded.value
   where usage_hourly.value is distinct from excluded.value`;

export interface UsageTotal {
  meter: Meter;
  start: Date;
  /** The hourly values of the bucket combined: summed (across the tenant's projects too), or the highest for a peak. */
  total: bigint;
}

export class UsageStore {
  constructor(private readonly db: Database) {}

  /**
   * Applies a batch once: its id is recorded in the same transaction, so a batch retried after a failure
   * whose commit did happen (the answer was lost) changes nothing the second time. Answers false then.
   */
  async apply(batch: UsageBatch): Promise<boolean> {
    return this.db.operator('usage.flush', async (tx) => {
      const fresh = await tx.query('insert into usage_flushes (id) values ($1) on conflict do nothing returning id', [batch.id]);
      if (fresh.length === 0) return false;
      if (batch.players.length > 0) {
        const players = batch.players.map((p) => ({
          tenant_id: p.tenantId,
          project_id: p.projectId,
          player_id: p.playerId,
          month: p.month,
          at: new Date(p.at).toISOString(),
        }));
        await tx.query(COUNT_PLAYERS_SQL, [JSON.stringify(players)]);
      }
      if (batch.counts.length > 0) {
        const counts = batch.counts.map((c) => ({
          tenant_id: c.tenantId,
          project_id: c.projectId,
          meter: c.meter,
          hour: new Date(c.hour).toISOString(),
          value: c.value,
        }));
        await tx.query(ADD_COUNTS_SQL, [JSON.stringify(counts)]);
      }
      const projectPeaks = batch.peaks.filter((peak) => peak.projectId !== null);
      const tenantPeaks = batch.peaks.filter((peak) => peak.projectId === null);
      if (projectPeaks.length > 0) await tx.query(ADD_PROJECT_PEAKS_SQL, [peakJson(projectPeaks)]);
      if (tenantPeaks.length > 0) await tx.query(ADD_TENANT_PEAKS_SQL, [peakJson(tenantPeaks)]);
      return true;
    });
  }

  /** Recomputes server_seconds of the open hours, from `firstOpenHour` to the hour of `now`. */
  async measureServerSeconds(firstOpenHour: Date, now: Date): Promise<void> {
    await this.db.operator('usage.server_seconds', (tx) => tx.query(MEASURE_SERVER_SECONDS_SQL, [firstOpenHour, now]));
  }

  /** Samples the storage gauge into the hour starting at `hour`, and forgets flush ids older than a day. */
  async sampleStorage(hour: Date): Promise<void> {
    await this.db.operator('usage.sample', async (tx) => {
      await tx.query(SAMPLE_STORAGE_SQL, [hour]);
      await tx.query("delete from usage_flushes where applied_at < now() - interval '1 day'");
    });
  }

  /** Whether the tenant exists and, when given, the project is one of its own. */
  async owns(tenantId: string, projectId: string | undefined): Promise<{ tenant: boolean; project: boolean }> {
    const [row] = await this.db.operator('usage.owner', (tx) =>
      tx.query<{ tenant: boolean; project: boolean }>(
        `select exists (select 1 from tenants where id = $1) as tenant,
                ($2::bigint is null or exists (select 1 from projects where tenant_id = $1 and id = $2)) as project`,
        [tenantId, projectId ?? null],
      ),
    );
    return row!;
  }

  /**
   * The hourly values per bucket and meter in [from, to), for the tenant or one of its projects: summed, but
   * a peak is the highest. The tenant's ccu_peak is its own (usage_tenant_hourly), not its projects'.
   */
  async totals(q: { tenantId: string; projectId?: string; meter?: Meter; from: Date; to: Date; granularity: Granularity }): Promise<UsageTotal[]> {
    const rows = await this.db.operator('usage.read', (tx: Queryable) =>
      tx.query<{ meter: Meter; start: Date; total: string }>(
        `select meter, date_trunc($1, hour, 'UTC') as start,
                (case when meter = 'ccu_peak' then max(value) else sum(value) end)::text as total
           from (select meter, hour, value from usage_hourly
                  where tenant_id = $2 and hour >= $3 and hour < $4
                    and ($5::bigint is null or project_id = $5) and ($6::text is null or meter = $6)
                    and ($5::bigint is not null or meter <> 'ccu_peak')
                 union all
                 select meter, hour, value from usage_tenant_hourly
                  where $5::bigint is null and tenant_id = $2 and hour >= $3 and hour < $4 and ($6::text is null or meter = $6)) as hours
          group by 1, 2`,
        [q.granularity, q.tenantId, q.from, q.to, q.projectId ?? null, q.meter ?? null],
      ),
    );
    return rows.map((row) => ({ meter: row.meter, start: new Date(row.start), total: BigInt(row.total) }));
  }
}

const peakJson = (peaks: UsageBatch['peaks']): string =>
  JSON.stringify(peaks.map((p) => ({ tenant_id: p.tenantId, project_id: p.projectId, hour: new Date(p.hour).toISOString(), value: p.value })));
