/** The idempotency module's environment variables; each error names its variable. */
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface IdempotencyConfig {
  /** How often keys past their 24 h are deleted (0: never). */
  purgeIntervalMs: number;
}

export const idempotencySection: ConfigSection<'idempotency', IdempotencyConfig> = defineSection(
  'idempotency',
  'Idempotency keys',
  {
    purgeIntervalSeconds: integer('IDEMPOTENCY_PURGE_INTERVAL_SECONDS', {
      default: 300,
      min: 0,
      max: 86_400,
      doc: 'how often `Idempotency-Key` records older than 24 h are deleted (`0`: never; an expired key is reusable either way)',
    }),
  },
  ({ purgeIntervalSeconds }) => ({ purgeIntervalMs: purgeIntervalSeconds * 1000 }),
);
