/** The fan-out backend of a deployment: Redis when the cache is shared, memory otherwise. */
import type { Logger } from '../telemetry/logger.js';
import type { Fanout } from './fanout.js';
import { MemoryFanout } from './memory.js';

export type { Fanout, FanoutHandler } from './fanout.js';

export interface FanoutChoice {
  backend: 'memory' | 'redis';
  redisUrl: string;
  namespace: () => Promise<string>;
  root?: string;
  logger?: Logger;
}

export async function createFanout(choice: FanoutChoice): Promise<Fanout> {
  if (choice.backend === 'memory') return new MemoryFanout(choice.logger);
  // Imported only when used: a memory-only node never loads the Redis client for this.
  const { RedisFanout } = await import('./redis.js');
  return new RedisFanout({ url: choice.redisUrl, namespace: choice.namespace, root: choice.root, logger: choice.logger });
}
