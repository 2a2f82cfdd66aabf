/**
 * Ends tickets that waited their pool's max_wait_seconds (`expired`, `max-wait`) and tells their players;
 * and purges ended tickets past MATCHMAKER_TICKET_RETENTION_DAYS.
 */
import type { Database } from '../../internal/db/database.js';
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import { RetentionPurge } from '../../internal/jobs/retention-purge.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { TicketService } from './ticket-service.js';
import type { TicketStore } from './ticket-store.js';

/** Tickets expired per pass at most (the rest wait for the next pass). */
const BATCH = 1_000;

export class TicketExpiry extends PeriodicJob {
  constructor(
    private readonly store: TicketStore,
    private readonly tickets: TicketService,
    logger: Logger,
    intervalMs: number,
  ) {
    super('matchmaker.ticket-expiry', intervalMs, logger);
  }

  async pass(): Promise<number> {
    const ended = await this.store.expireDue(BATCH);
    for (const { scope, ticket } of ended) this.tickets.announce(scope, ticket);
    return ended.length;
  }
}

export class TicketRetentionPurge extends RetentionPurge {
  constructor(db: Database, logger: Logger, retentionDays: number) {
    super(db, logger, {
      intervalMs: 3_600_000,
      retentionDays,
      job: 'matchmaker.ticket-retention',
      table: 'matchmaker_tickets',
      overrideKey: 'matchmaker_ticket_retention_days',
    });
  }
}
