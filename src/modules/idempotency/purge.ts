/**
 * Deletes keys past their 24 h across tenants (a scheduler, so it runs on the named operator path), in
 * batches of short transactions. Expired rows answer nothing already (a claim takes them over): this only
 * keeps the table from growing.
 */
import type { Database } from '../../internal/db/database.js';
import { PeriodicJob, deleteInBatches, type BatchLimits } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import { KEY_LIFETIME_HOURS } from './key-store.js';

export interface PurgeOptions extends Partial<BatchLimits> {
  /** How often a pass runs (0: never). */
  intervalMs: number;
}

const DELETE_EXPIRED = `with gone as (
     delete from idempotency_keys
      where ctid = any(array(select ctid from idempotency_keys
                              where created_at <= now() - make_interval(hours => ${KEY_LIFETIME_HOURS}) limit $1))
     returning 1)
   select count(*)::int as n from gone`;

export class IdempotencyPurge extends PeriodicJob {
  private readonly limits: BatchLimits;

  constructor(
    private readonly db: Database,
    logger: Logger,
    options: PurgeOptions,
  ) {
    super('idempotency.purge', options.intervalMs, logger);
    this.limits = { batchSize: options.batchSize ?? 10_000, batchesPerPass: options.batchesPerPass ?? 10 };
  }

  /** One pass; answers how many keys it deleted. */
  pass(): Promise<number> {
    return deleteInBatches(this.db, 'idempotency.purge', DELETE_EXPIRED, [], this.limits);
  }
}
