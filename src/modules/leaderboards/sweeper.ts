/**
 * Background clean-up across tenants (a scheduler, so it runs on the named operator path): idempotency
 * records older than 24 h, and the records of deleted boards whose purge did not finish on the node that
 * deleted them (it stopped or crashed). Each pass does a bounded amount of work in short transactions.
 */
import type { Database } from '../../internal/db/database.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { LeaderboardService } from './leaderboard-service.js';

const IDEMPOTENCY_BATCH = 10_000;
const BOARDS_PER_PASS = 20;

export class LeaderboardSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly service: LeaderboardService,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'leaderboards: sweep failed; retrying next interval'))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep; exported for tests. */
  async pass(): Promise<void> {
    await this.db.operator('leaderboards.idempotency-expiry', (tx) =>
      tx.query(
        `delete from leaderboard_idempotency
          where ctid = any(array(select ctid from leaderboard_idempotency
                                  where created_at < now() - interval '24 hours' limit $1))`,
        [IDEMPOTENCY_BATCH],
      ),
    );
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
