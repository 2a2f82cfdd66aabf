/**
 * Deletes a table's rows past their project's retention (a deployment default in days, or the project's
 * override in its settings' limits) across tenants: a scheduler, so it runs on the named operator path, in
 * batches of short transactions. Each batch probes every project's rows by (tenant, project, created_at), so
 * its cost follows the number of projects and of expired rows, not of the rows kept. The table needs
 * tenant_id, project_id and created_at, and an index that starts with them.
 */
import type { Database } from '../db/database.js';
import type { Logger } from '../telemetry/logger.js';
import { PeriodicJob, deleteInBatches, type BatchLimits } from './periodic-job.js';

export interface RetentionOptions extends Partial<BatchLimits> {
  /** How often a pass runs (0: never). */
  intervalMs: number;
  /** The retention of projects without an override, in days. */
  retentionDays: number;
}

export interface RetainedTable {
  /** The job's name in logs and metrics. */
  job: string;
  /** The table (a name from code, never from input). */
  table: string;
  /** The project override's name in its settings' `limits` (e.g. `chat_retention_days`). */
  overrideKey: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function deleteExpired(table: string, overrideKey: string): string {
  if (!IDENTIFIER.test(table) || !IDENTIFIER.test(overrideKey)) throw new Error(`retention purge: bad table or override name: ${table}, ${overrideKey}`);
  // The project's override when it holds a number, else the deployment's retention ($2).
  const retentionDays = `coalesce(
    case when jsonb_typeof(p.settings -> 'limits' -> '${overrideKey}') = 'number'
         then round((p.settings -> 'limits' ->> '${overrideKey}')::numeric)::int end,
    $2::int)`;
  return `with gone as (
             delete from ${table}
              where ctid = any(array(
                select expired.row_ctid
                  from projects p
                  cross join lateral (
                    select r.ctid as row_ctid from ${table} r
                     where r.tenant_id = p.tenant_id and r.project_id = p.id
                       and r.created_at <= now() - make_interval(days => ${retentionDays})
                     limit $1) expired
                 limit $1))
             returning 1)
           select count(*)::int as n from gone`;
}

export class RetentionPurge extends PeriodicJob {
  private readonly limits: BatchLimits;
  private readonly sql: string;

  constructor(
    private readonly db: Database,
    logger: Logger,
    private readonly options: RetentionOptions & RetainedTable,
  ) {
    super(options.job, options.intervalMs, logger);
    this.sql = deleteExpired(options.table, options.overrideKey);
    this.limits = { batchSize: options.batchSize ?? 10_000, batchesPerPass: options.batchesPerPass ?? 10 };
  }

  /** One pass; answers how many rows it deleted. */
  pass(): Promise<number> {
    return deleteInBatches(this.db, this.options.job, this.sql, [this.options.retentionDays], this.limits);
  }
}
