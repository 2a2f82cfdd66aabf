/** The notifications module's environment variables (docs/api/notifications.md); each error names its variable. */
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface NotificationsConfig {
  /** Days a stored notification is kept (a project may override it). */
  retentionDays: number;
  /** Stored notifications one player may have; past it the oldest go first (a project may override it). */
  maxPerPlayer: number;
  /** Undelivered notifications sent to a new realtime session right after its welcome. */
  onConnect: number;
  /** How often notifications past their retention are deleted (0: never). */
  purgeIntervalMs: number;
}

export const notificationsSection: ConfigSection<'notifications', NotificationsConfig> = defineSection(
  'notifications',
  'Notifications',
  {
    retentionDays: integer('NOTIFICATION_RETENTION_DAYS', {
      default: 90,
      min: 1,
      max: 3650,
      perProject: true,
      doc: 'days a stored notification is kept before the retention purge deletes it',
    }),
    maxPerPlayer: integer('NOTIFICATIONS_MAX_PER_PLAYER', {
      default: 1000,
      min: 1,
      max: 100_000,
      perProject: true,
      doc: 'stored notifications one player may have; a send past it deletes that player\'s oldest',
    }),
    onConnect: integer('NOTIFICATIONS_ON_CONNECT', {
      default: 100,
      min: 0,
      max: 1000,
      doc: 'undelivered notifications sent to a new realtime session right after its `welcome`, oldest first (`0`: none)',
    }),
    purgeIntervalSeconds: integer('NOTIFICATIONS_PURGE_INTERVAL_SECONDS', {
      default: 3600,
      min: 0,
      max: 86_400,
      doc: 'how often notifications past their retention are deleted, in batches (`0`: never)',
    }),
  },
  ({ purgeIntervalSeconds, ...notifications }) => ({ ...notifications, purgeIntervalMs: purgeIntervalSeconds * 1000 }),
);
