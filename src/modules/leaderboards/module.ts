/**
 * The leaderboards domain: boards, records, the rank index (memory or Redis, after CACHE_BACKEND), the
 * background sweeper, and the routes in their auth contexts.
 */
import type { FastifyInstance } from 'fastify';
import { addAuthHook } from '../../http/auth-hook.js';
import type { DomainModule, DomainModuleContext } from '../../http/modules.js';
import type { Config } from '../../app/config.js';
import { LeaderboardService } from './leaderboard-service.js';
import { MemoryRankIndex } from './memory-rank-index.js';
import type { RankIndex, RankSource } from './rank-index.js';
import { RecordStore } from './record-store.js';
import { boardAdminRoutes, boardRoutes } from './routes.js';
import { LeaderboardSweeper } from './sweeper.js';

/** How long start-up waits for Redis before carrying on (ranks are 503 until it answers). */
const REDIS_FIRST_CONNECT_MS = 1_000;

/** `namespace`: the deployment namespace the Redis index's keys carry (read on first use). */
export async function createRankIndex(config: Config, source: RankSource, namespace: () => Promise<string>): Promise<RankIndex> {
  const options = config.leaderboards;
  if (config.cacheBackend === 'memory') return new MemoryRankIndex({ source, batchSize: options.rebuildBatchSize });
  // Imported only when used: a memory-only node never loads the Redis client for this.
  const { RedisRankIndex } = await import('./redis-rank-index.js');
  const index = new RedisRankIndex({
    url: config.redisUrl,
    source,
    keyPrefix: options.redisKeyPrefix,
    namespace,
    batchSize: options.rebuildBatchSize,
    waitMs: options.rebuildWaitMs,
  });
  await index.waitReady(REDIS_FIRST_CONNECT_MS);
  return index;
}

async function register(app: FastifyInstance, { deps, config, services }: DomainModuleContext): Promise<void> {
  const records = new RecordStore(deps.db);
  // The index reads each board period back from Postgres, inside that board's own tenant and project.
  const source: RankSource = (board, after, limit) =>
    records.scan({ tenantId: board.tenantId, projectId: board.projectId }, board.boardUid, board.period, after, limit);
  const index = await createRankIndex(config, source, () => services.namespace.get());
  const service = new LeaderboardService(deps.db, index, deps.logger, config.leaderboards.boardCacheMs);
  const sweeper = new LeaderboardSweeper(deps.db, service, deps.logger, config.leaderboards.purgeIntervalMs);
  sweeper.start();
  app.addHook('onClose', async () => {
    await sweeper.stop();
    await service.close();
    await index.close();
  });

  await app.register(async (secret) => {
    addAuthHook(secret, { resolver: services.resolver, accept: ['secret'] });
    await boardAdminRoutes(secret, service);
  });
  await app.register(async (callers) => {
    addAuthHook(callers, { resolver: services.resolver, accept: ['secret', 'player'] });
    await boardRoutes(callers, service);
  });
}

export const leaderboardsModule: DomainModule = { name: 'leaderboards', register };
