/** The matchmaker's environment variables (docs/api/matchmaker.md). */
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface MatchmakerConfig {
  /** Between two passes of the matcher over a pool. */
  intervalMs: number;
  /** Pools one project may have. */
  maxPools: number;
  /** How long ended tickets are kept. */
  ticketRetentionDays: number;
  /** How long a formed group waits for a game server before it is dissolved. */
  allocationTimeoutSeconds: number;
  /** The lifetime of a match token. */
  matchTokenTtlSeconds: number;
}

export const matchmakerSection: ConfigSection<'matchmaker', MatchmakerConfig> = defineSection('matchmaker', 'Matchmaker', {
  intervalMs: integer('MATCHMAKER_INTERVAL_MS', { default: 1_000, min: 50, max: 60_000, doc: 'between two matcher passes over each pool (one node at a time per pool)' }),
  maxPools: integer('MATCHMAKER_MAX_POOLS', { default: 50, min: 1, max: 10_000, perProject: true, doc: 'pools one project may have; one more is `409 limit-reached`' }),
  ticketRetentionDays: integer('MATCHMAKER_TICKET_RETENTION_DAYS', { default: 7, min: 1, max: 3_650, doc: 'days ended tickets are kept (then purged)' }),
  allocationTimeoutSeconds: integer('MATCHMAKER_ALLOCATION_TIMEOUT_SECONDS', {
    default: 30,
    min: 1,
    max: 3_600,
    doc: 'how long a formed group retries its game-server allocation before it is dissolved (its tickets search again, keeping their age)',
  }),
  matchTokenTtlSeconds: integer('MATCH_TOKEN_TTL_SECONDS', { default: 120, min: 10, max: 86_400, doc: 'lifetime of a match token (a game server checks it when the player connects)' }),
});
