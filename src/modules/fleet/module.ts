/**
 * The fleet domain: registered fleets, allocations, the backend this deployment runs (local processes or
 * Agones), the reconciler, metrics, and the routes in their auth contexts (operator: fleet registration;
 * secret key: allocations).
 */
import type { FastifyInstance } from 'fastify';
import { addAuthHook } from '../../http/auth-hook.js';
import type { DomainModule, DomainModuleContext } from '../../http/modules.js';
import { AgonesBackend } from './agones/agones-backend.js';
import { AllocationService } from './allocation-service.js';
import { AllocationStore } from './allocation-store.js';
import { FleetService } from './fleet-service.js';
import { FleetStore } from './fleet-store.js';
import { fleetAdminRoutes } from './http/admin-routes.js';
import { allocationRoutes } from './http/allocation-routes.js';
import { LocalBackend } from './local/local-backend.js';
import { FleetMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import type { FleetBackend } from './types.js';

/** How long an allocation's game server is left alone after the allocation (the Agones watch may lag). */
const AGONES_RECONCILE_GRACE_MS = 10_000;

async function register(app: FastifyInstance, { deps, config, services }: DomainModuleContext): Promise<void> {
  const { db, logger } = deps;
  const fleetConfig = config.fleet;
  const backend: FleetBackend =
    fleetConfig.backend === 'local'
      ? new LocalBackend({ config: fleetConfig.local, logger })
      : new AgonesBackend({ config: fleetConfig.agones, logger });
  await backend.start();

  const metrics = new FleetMetrics(deps.metrics.registry, backend);
  const allocationStore = new AllocationStore(db);
  const fleets = new FleetService(new FleetStore(db), allocationStore, backend, metrics, fleetConfig, logger);
  const allocations = new AllocationService(allocationStore, fleets, backend, metrics, logger);
  const reconciler = new Reconciler(allocationStore, fleets, backend, metrics, logger, {
    intervalMs: fleetConfig.sweepIntervalMs,
    pendingTimeoutMs: 120_000 + fleetConfig.local.allocationWaitMs,
    graceMs: backend.kind === 'agones' ? AGONES_RECONCILE_GRACE_MS : 0,
  });
  reconciler.start();

  // Every child process goes with the app; their allocations are Lost from then on.
  app.addHook('onClose', async () => {
    await reconciler.stop();
    await backend.close();
    await reconciler.markNodeLost().catch((error: unknown) => logger.debug({ err: error }, 'could not mark local allocations lost at shutdown'));
  });

  await app.register(async (operator) => {
    addAuthHook(operator, { resolver: services.resolver, accept: ['operator'] });
    await fleetAdminRoutes(operator, { fleets, tenancy: services.tenancy });
  });
  await app.register(async (secret) => {
    addAuthHook(secret, { resolver: services.resolver, accept: ['secret'] });
    await allocationRoutes(secret, { allocations, fleets });
  });
}

export const fleetModule: DomainModule = { name: 'fleet', register };
