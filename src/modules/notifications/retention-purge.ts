/**
 * Notifications past their project's retention (NOTIFICATION_RETENTION_DAYS, or the project's override) are
 * deleted by the shared retention purge.
 */
import type { Database } from '../../internal/db/database.js';
import { RetentionPurge, type RetentionOptions } from '../../internal/jobs/retention-purge.js';
import type { Logger } from '../../internal/telemetry/logger.js';

export class NotificationRetentionPurge extends RetentionPurge {
  constructor(db: Database, logger: Logger, options: RetentionOptions) {
    super(db, logger, { ...options, job: 'notifications.retention', table: 'notifications', overrideKey: 'notification_retention_days' });
  }
}
