/**
 * Background clean-up across tenants (a scheduler, so it runs on the named operator path): the records of
 * deleted boards whose purge did not finish on the node that deleted them (it stopped or crashed). Each pass
 * does a bounded amount of work in short transactions. (Expired Idempotency-Keys are the idempotency
 * module's purge.)
 */
import type { Database } from '../../internal/db/database.js';
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { LeaderboardService } from './leaderboard-service.js';

const BOARDS_PER_PASS = 20;

export class LeaderboardSweeper extends PeriodicJob {
  constructor(
    private readonly db: Database,
    private readonly service: LeaderboardService,
    logger: Logger,
    intervalMs: number,
  ) {
    super('leaderboards.sweeper', intervalMs, logger);
  }

  /** One sweep; exported for tests. */
  async pass(): Promise<void> {
    const deleted = await this.db.operator('leaderboards.deleted-boards', (tx) =>
      tx.query<{ tenant_id: string; project_id: string; uid: string }>(
        'select tenant_id, project_id, uid from leaderboards where deleted_at is not null order by deleted_at limit $1',
        [BOARDS_PER_PASS],
      ),
    );
    // The records themselves go inside each board's own tenant scope.
    for (const board of deleted) {
      await this.service.purge({ tenantId: String(board.tenant_id), projectId: String(board.project_id) }, String(board.uid));
    }
  }
}
