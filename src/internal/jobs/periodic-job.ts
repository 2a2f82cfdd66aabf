/**
 * Background work on a fixed period (sweepers, purges): one pass at a time (a slow pass is not overlapped
 * by the next tick), a failed pass logged and retried at the next one, and stop() waiting for the pass in
 * flight. The timer never keeps the process alive. Subclasses write pass(). Until a first pass has
 * succeeded, a pass refused as `unavailable` (the database still starting, the cache not bound yet) is
 * expected and logged at debug; afterwards every failure is a warning.
 */
import type { Database } from '../db/database.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../telemetry/logger.js';

export abstract class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private succeeded = false;

  constructor(
    readonly name: string,
    private readonly intervalMs: number,
    protected readonly logger: Logger,
  ) {}

  /** One pass (tests call it directly). */
  abstract pass(): Promise<unknown>;

  /** An interval of 0 (or less) never runs. */
  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .then(() => {
          this.succeeded = true;
        })
        .catch((error: unknown) => {
          const starting = !this.succeeded && error instanceof AppError && error.slug === 'unavailable';
          this.logger[starting ? 'debug' : 'warn']({ err: error, job: this.name }, 'background job failed; retrying next interval');
        })
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

export interface BatchLimits {
  /** Rows deleted per transaction. */
  batchSize: number;
  /** Transactions per pass at most: what is left waits for the next pass. */
  batchesPerPass: number;
}

/**
 * Deletes in short transactions on the named operator path until a batch comes back short or the pass's
 * budget is spent. `deleteSql` deletes at most `$1` rows (the batch size; `params` follow as $2...) and
 * answers `select count(*)::int as n` of what it deleted. Returns the total.
 */
export async function deleteInBatches(db: Database, action: string, deleteSql: string, params: readonly (string | number)[], limits: BatchLimits): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < limits.batchesPerPass; batch++) {
    const [row] = await db.operator(action, (tx) => tx.query<{ n: number }>(deleteSql, [limits.batchSize, ...params]));
    const deleted = Number(row?.n ?? 0);
    total += deleted;
    if (deleted < limits.batchSize) break;
  }
  return total;
}
