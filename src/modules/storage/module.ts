/**
 * Storage (docs/api/storage.md): key-value blobs per (project, owner, collection, key), in Postgres,
 * behind the player-token-or-secret-key auth context (publishable keys and the operator are 403).
 */
import { defineModule } from '../contract.js';
import { storageSection } from './config.js';
import { ObjectStore } from './object-store.js';
import { storageRoutes } from './routes.js';
import { StorageService } from './storage-service.js';

export const storageModule = defineModule({
  name: 'storage',
  config: storageSection,
  needs: [],
  tables: ['storage_objects', 'storage_usage'],
  async build({ config, infra }) {
    const service = new StorageService(new ObjectStore(infra.db), config);
    return {
      provides: undefined,
      async routes(app, { gate }) {
        gate(app, ['player', 'secret']);
        await storageRoutes(app, { service, config });
      },
    };
  },
});
