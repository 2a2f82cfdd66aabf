/**
 * The leaderboards' environment variables (issue 4); each error names its variable. Which rank index runs
 * follows CACHE_BACKEND (memory → in-process, redis → Redis sorted sets at REDIS_URL).
 */
import type { Env } from '../../internal/config/parse.js';
import { defineSection, integer, text, type ConfigSection } from '../../internal/config/section.js';

export interface LeaderboardsConfig {
  /** Records read per query when a rank index is rebuilt from Postgres. */
  rebuildBatchSize: number;
  /** How long a node trusts its cached board settings (every write still checks the board is alive). */
  boardCacheMs: number;
  /**
   * The root in front of the deployment namespace in the Redis rank-index keys. Deployments that share one
   * Redis are kept apart by their namespaces already; tests give each run its own root.
   */
  redisKeyPrefix: string;
  /** How long a request waits for another node's rebuild of a rank index before answering 503. */
  rebuildWaitMs: number;
  /** How often deleted boards' leftover records are purged (0: never). */
  purgeIntervalMs: number;
}

export const leaderboardsSection: ConfigSection<'leaderboards', LeaderboardsConfig> = defineSection(
  'leaderboards',
  'Leaderboards',
  {
    rebuildBatchSize: integer('LEADERBOARD_REBUILD_BATCH', {
      default: 10_000,
      min: 100,
      max: 1_000_000,
      doc: 'records read per query when a rank index is rebuilt from PostgreSQL',
    }),
    boardCacheMs: integer('LEADERBOARD_BOARD_CACHE_MS', {
      default: 5_000,
      min: 0,
      max: 600_000,
      doc: 'how long a node trusts its cached board settings (every write still checks that the board is alive)',
    }),
    redisKeyPrefix: text('LEADERBOARD_REDIS_KEY_PREFIX', {
      default: 'ggscale:',
      doc: 'with `CACHE_BACKEND=redis`, the root of the rank-index keys, in front of the deployment namespace (which already keeps deployments sharing one Redis apart)',
    }),
    rebuildWaitMs: integer('LEADERBOARD_REBUILD_WAIT_MS', {
      default: 8_000,
      min: 0,
      max: 600_000,
      doc: "with `CACHE_BACKEND=redis`, how long a request waits for another node's rebuild of a rank index before answering `503`",
    }),
    purgeIntervalSeconds: integer('LEADERBOARD_PURGE_INTERVAL_SECONDS', {
      default: 300,
      min: 0,
      max: 86_400,
      doc: "how often deleted boards' leftover records are purged (`0`: never)",
    }),
  },
  ({ purgeIntervalSeconds, ...leaderboards }) => ({ ...leaderboards, purgeIntervalMs: purgeIntervalSeconds * 1000 }),
);

export const loadLeaderboardsConfig = (env: Env): LeaderboardsConfig => leaderboardsSection.parse(env);
