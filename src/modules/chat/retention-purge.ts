/**
 * Channel messages past their project's retention (CHAT_RETENTION_DAYS, or the project's override) are
 * deleted by the shared retention purge. Channel counters stay: a seq is never reused.
 */
import type { Database } from '../../internal/db/database.js';
import { RetentionPurge, type RetentionOptions } from '../../internal/jobs/retention-purge.js';
import type { Logger } from '../../internal/telemetry/logger.js';

export class ChatRetentionPurge extends RetentionPurge {
  constructor(db: Database, logger: Logger, options: RetentionOptions) {
    super(db, logger, { ...options, job: 'chat.retention', table: 'chat_messages', overrideKey: 'chat_retention_days' });
  }
}
