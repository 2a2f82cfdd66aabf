/**
 * The leaderboards domain: boards, records, the rank index (memory or Redis, after CACHE_BACKEND), the
 * background sweeper, and the routes in their auth contexts. Idempotency-Key on submits is the idempotency
 * module's.
 */
import type { CoreConfig } from '../../internal/config/core.js';
import type { LeaderboardsApi } from './api.js';
import { defineModule } from '../contract.js';
import { leaderboardsSection, type LeaderboardsConfig } from './config.js';
import { LeaderboardService, leaderboardStores } from './leaderboard-service.js';
import { MemoryRankIndex } from './memory-rank-index.js';
import type { RankIndex, RankSource } from './rank-index.js';
import { boardAdminRoutes, boardRoutes } from './routes.js';
import { LeaderboardSweeper } from './sweeper.js';

/** How long start-up waits for Redis before carrying on (ranks are 503 until it answers). */
const REDIS_FIRST_CONNECT_MS = 1_000;

/** `namespace`: the deployment namespace the Redis index's keys carry (read on first use). */
async function createRankIndex(
  core: Pick<CoreConfig, 'cacheBackend' | 'redisUrl'>,
  options: LeaderboardsConfig,
  source: RankSource,
  namespace: () => Promise<string>,
): Promise<RankIndex> {
  if (core.cacheBackend === 'memory') return new MemoryRankIndex({ source, batchSize: options.rebuildBatchSize });
  // Imported only when used: a memory-only node never loads the Redis client for this.
  const { RedisRankIndex } = await import('./redis-rank-index.js');
  const index = new RedisRankIndex({
    url: core.redisUrl,
    source,
    keyPrefix: options.redisKeyPrefix,
    namespace,
    batchSize: options.rebuildBatchSize,
    waitMs: options.rebuildWaitMs,
  });
  await index.waitReady(REDIS_FIRST_CONNECT_MS);
  return index;
}

export const leaderboardsModule = defineModule({
  name: 'leaderboards',
  config: leaderboardsSection,
  needs: ['idempotency'],
  tables: ['leaderboards', 'leaderboard_records'],
  async build({ config, infra, needs }) {
    const { db, logger } = infra;
    const stores = leaderboardStores(db, config.boardCacheMs);
    // The index reads each board period back from Postgres, inside that board's own tenant and project.
    const source: RankSource = (board, after, limit) =>
      stores.records.scan({ tenantId: board.tenantId, projectId: board.projectId }, board.boardUid, board.period, after, limit);
    const index = await createRankIndex(infra.core, config, source, () => infra.namespace.get());
    const service = new LeaderboardService(db, stores, index, logger, needs.idempotency);
    const api: LeaderboardsApi = {
      boardExists: async (scope, boardId) => (await stores.boards.get(scope, boardId)) !== null,
      currentScores: (scope, boardId, playerIds) => service.currentScores(scope, boardId, playerIds),
    };
    return {
      provides: api,
      async routes(app, { gate }) {
        await app.register(async (secret) => {
          gate(secret, ['secret']);
          await boardAdminRoutes(secret, service);
        });
        await app.register(async (callers) => {
          gate(callers, ['secret', 'player']);
          await boardRoutes(callers, service);
        });
      },
      jobs: [new LeaderboardSweeper(db, service, logger, config.purgeIntervalMs)],
      async close() {
        await service.close();
        await index.close();
      },
    };
  },
});
