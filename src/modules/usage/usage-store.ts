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

export interface UsageTotal {
  meter: Meter;
  start: Date;
  /** The sum of the hourly values in the bucket (across the tenant's projects without a project). */
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
      return true;
    });
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

  /** The hourly values summed per bucket and meter in [from, to), for the tenant or one of its projects. */
  async totals(q: { tenantId: string; projectId?: string; meter?: Meter; from: Date; to: Date; granularity: Granularity }): Promise<UsageTotal[]> {
    const rows = await this.db.operator('usage.read', (tx: Queryable) =>
      tx.query<{ meter: Meter; start: Date; total: string }>(
        `select meter, date_trunc($1, hour, 'UTC') as start, sum(value)::text as total
           from usage_hourly
          where tenant_id = $2 and hour >= $3 and hour < $4
            and ($5::bigint is null or project_id = $5) and ($6::text is null or meter = $6)
          group by 1, 2`,
        [q.granularity, q.tenantId, q.from, q.to, q.projectId ?? null, q.meter ?? null],
      ),
    );
    return rows.map((row) => ({ meter: row.meter, start: new Date(row.start), total: BigInt(row.total) }));
  }
}
