/**
 * Tenancy: tenants, projects and their settings, API keys and bans, all behind the operator token. Other
 * modules read project settings through it and hear about revoked credentials from it.
 */
import { defineModule } from '../contract.js';
import type { CredentialRevocation } from './api.js';
import { adminRoutes } from './admin-routes.js';
import { ProjectOrigins } from './project-origins.js';
import { ProjectSettingsCache } from './project-settings-cache.js';
import { TenancyService } from './tenancy-service.js';

export const tenancyModule = defineModule({
  name: 'tenancy',
  needs: [],
  tables: ['tenants', 'projects', 'api_keys'],
  async build({ infra }) {
    const { db, cache, logger, core } = infra;
    const settings = new ProjectSettingsCache(db, cache, core.credentialCacheMs);
    await settings.start();
    const origins = new ProjectOrigins(db, cache, core.credentialCacheMs);
    await origins.start();
    const revocationListeners: ((event: CredentialRevocation) => Promise<void>)[] = [];
    const revoked = async (event: CredentialRevocation): Promise<void> => {
      await Promise.all(revocationListeners.map((listener) => listener(event)));
    };
    const tenancy = new TenancyService(db, revoked, logger, (projectId) => settings.changed(projectId));
    return {
      provides: {
        settings,
        anyProjectAllowsOrigin: (origin) => origins.allows(origin),
        projectScope: (projectId) => tenancy.projectScope(projectId),
        onRevoked: (listener) => void revocationListeners.push(listener),
      },
      async routes(app, { gate }) {
        gate(app, ['operator']);
        await adminRoutes(app, tenancy, infra.projectLimits);
      },
    };
  },
});
