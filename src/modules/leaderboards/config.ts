/**
 * The leaderboards' environment variables (issue 4); each error names its variable. Which rank index runs
 * follows CACHE_BACKEND (memory → in-process, redis → Redis sorted sets at REDIS_URL).
 */
import { integer, text, type Env } from '../../internal/config/parse.js';

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
  /** How often expired idempotency records and deleted boards' records are purged (0: never). */
  purgeIntervalMs: number;
}

export function loadLeaderboardsConfig(env: Env): LeaderboardsConfig {
  return {
    rebuildBatchSize: integer(env, 'LEADERBOARD_REBUILD_BATCH', 10_000, 100, 1_000_000),
    boardCacheMs: integer(env, 'LEADERBOARD_BOARD_CACHE_MS', 5_000, 0, 600_000),
    redisKeyPrefix: text(env, 'LEADERBOARD_REDIS_KEY_PREFIX') ?? 'ggscale:',
    rebuildWaitMs: integer(env, 'LEADERBOARD_REBUILD_WAIT_MS', 8_000, 0, 600_000),
    purgeIntervalMs: integer(env, 'LEADERBOARD_PURGE_INTERVAL_SECONDS', 300, 0, 86_400) * 1000,
  };
}
