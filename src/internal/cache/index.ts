/**
 * Builds the configured cache backend. The Redis module (and ioredis with it) is imported only when used:
 * start-up time matters, and a memory-only node never pays for it.
 */
import type { CacheBackend } from './cache.js';
import { MemoryCache } from './memory.js';

export type { CacheBackend } from './cache.js';
export { bindDeploymentNamespace, DeploymentNamespace, readDeploymentNamespace } from './namespace.js';

export interface CreateCacheOptions {
  backend: 'memory' | 'redis';
  redisUrl?: string;
  /** The root in front of the deployment namespace in Redis (default 'ggscale:'). */
  keyPrefix?: string;
  /** The deployment namespace when known already; otherwise the server binds it (useNamespace) once its database is open. */
  namespace?: string;
  logger?: { warn(obj: object, msg: string): void };
}

/** How long start-up waits for a first Redis connection before carrying on degraded. */
const FIRST_CONNECT_WAIT_MS = 1_000;

export async function createCache(opts: CreateCacheOptions): Promise<CacheBackend> {
  if (opts.backend === 'memory') return new MemoryCache({ logger: opts.logger });
  if (!opts.redisUrl) throw new Error('the redis cache backend needs a redisUrl');
  const { RedisCache } = await import('./redis.js');
  const cache = new RedisCache({ url: opts.redisUrl, keyPrefix: opts.keyPrefix, namespace: opts.namespace, logger: opts.logger });
  // Never throws when Redis is unreachable: the node starts degraded and keeps reconnecting.
  if (!(await cache.waitReady(FIRST_CONNECT_WAIT_MS))) {
    opts.logger?.warn({ backend: 'redis' }, 'redis cache not reachable at start; running degraded');
  }
  return cache;
}
