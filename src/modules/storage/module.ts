/**
 * Storage (docs/api/storage.md): key-value blobs per (project, owner, collection, key), in Postgres,
 * behind the player-token-or-secret-key auth context (publishable keys and the operator are 403).
 */
import type { FastifyInstance } from 'fastify';
import { addAuthHook } from '../../http/auth-hook.js';
import type { DomainModule, DomainModuleContext } from '../../http/modules.js';
import { ObjectStore } from './object-store.js';
import { storageRoutes } from './routes.js';
import { StorageService } from './storage-service.js';

async function register(app: FastifyInstance, { deps, config, services }: DomainModuleContext): Promise<void> {
  const service = new StorageService(new ObjectStore(deps.db), config.storage);
  await app.register(async (scope) => {
    addAuthHook(scope, { resolver: services.resolver, accept: ['player', 'secret'] });
    await storageRoutes(scope, { service, config: config.storage });
  });
}

export const storageModule: DomainModule = { name: 'storage', register };
