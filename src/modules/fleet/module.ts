/**
 * The fleet domain: registered fleets, allocations, the backend this deployment runs (local processes or
 * Agones), the reconciler, metrics, and the routes in their auth contexts (operator: fleet registration;
 * secret key: allocations).
 */
import { AppError } from '../../internal/errors/app-error.js';
import { defineModule } from '../contract.js';
import { AgonesBackend } from './agones/agones-backend.js';
import { AllocationService } from './allocation-service.js';
import { MATCH_LABEL, PLAYERS_ANNOTATION, POOL_LABEL, type FleetApi } from './api.js';
import { AllocationStore } from './allocation-store.js';
import { fleetSection } from './config.js';
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

export const fleetModule = defineModule({
  name: 'fleet',
  config: fleetSection,
  needs: ['tenancy', 'idempotency', 'auth'],
  tables: ['fleets', 'fleet_allocations'],
  async build({ config, infra, needs }) {
    const { db, logger } = infra;
    const backend: FleetBackend =
      config.backend === 'local'
        ? new LocalBackend({ config: config.local, logger, matchTokens: () => needs.auth.matchTokens.verification() })
        : new AgonesBackend({ config: config.agones, logger });
    await backend.start();

    const metrics = new FleetMetrics(infra.metrics.registry, backend);
    // A Pending allocation this old was left behind by a stopped node: the reconciler drops it, and its
    // Idempotency-Key, claimed that long ago without an answer, goes to the next retry.
    const pendingTimeoutMs = 120_000 + config.local.allocationWaitMs;
    const allocationStore = new AllocationStore(db, needs.idempotency, pendingTimeoutMs);
    const fleets = new FleetService(new FleetStore(db), allocationStore, backend, metrics, config, logger);
    const allocations = new AllocationService(allocationStore, fleets, backend, metrics, logger);
    const reconciler = new Reconciler(allocationStore, fleets, backend, metrics, logger, {
      intervalMs: config.sweepIntervalMs,
      pendingTimeoutMs,
      graceMs: backend.kind === 'agones' ? AGONES_RECONCILE_GRACE_MS : 0,
    });

    const api: FleetApi = {
      allocateForMatch: async (scope, request) => {
        const { allocation } = await allocations.allocate(scope, { fleet: request.fleet, labels: request.selector }, `match:${request.matchId}`, {
          labels: { [MATCH_LABEL]: request.matchId, [POOL_LABEL]: request.poolId },
          annotations: { [PLAYERS_ANNOTATION]: JSON.stringify(request.teams) },
        });
        return { allocationId: allocation.id, address: allocation.address, ports: allocation.ports };
      },
      release: (scope, allocationId) => allocations.release(scope, allocationId),
      allocationEndedAt: async (scope, allocationId) => {
        const allocation = await allocationStore.get(scope, allocationId);
        if (!allocation) return new Date().toISOString(); // gone with its fleet
        return allocation.state === 'Allocated' ? null : (allocation.endedAt ?? new Date().toISOString());
      },
      fleetExists: (scope, name) =>
        fleets.resolve(scope, name).then(
          () => true,
          (error: unknown) => {
            if (error instanceof AppError && error.slug === 'not-found') return false;
            throw error;
          },
        ),
    };
    return {
      provides: api,
      async routes(app, { gate }) {
        await app.register(async (operator) => {
          gate(operator, ['operator']);
          await fleetAdminRoutes(operator, { fleets, tenancy: needs.tenancy });
        });
        await app.register(async (secret) => {
          gate(secret, ['secret']);
          await allocationRoutes(secret, { allocations, fleets });
        });
      },
      jobs: [reconciler],
      // Every child process goes with the app; their allocations are Lost from then on.
      async close() {
        await backend.close();
        await reconciler.markNodeLost().catch((error: unknown) => logger.debug({ err: error }, 'could not mark local allocations lost at shutdown'));
      },
    };
  },
});
