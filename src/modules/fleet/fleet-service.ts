/**
 * Registered fleets: the operator's registrations and the lazily created `default` local fleet every
 * project gets when FLEET_BACKEND=local (created the first time the project touches fleets, so a fresh
 * `npm start` can allocate at once; a deleted default fleet leaves a tombstone and is not recreated).
 */
import type { TenantScope } from '../../internal/db/database.js';
import { isUniqueViolation } from '../../internal/db/errors.js';
import { conflict, notFound, validation } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AllocationStore } from './allocation-store.js';
import type { FleetConfig, FleetBackendKind } from './config.js';
import { FleetStore, toSpec, type FleetRecord } from './fleet-store.js';
import { checkLabels, type Labels } from './labels.js';
import type { FleetMetrics } from './metrics.js';
import type { FleetBackend } from './types.js';

export interface FleetRegistration {
  name: string;
  backend: FleetBackendKind;
  labels?: Labels;
  max_allocations?: number;
  allocation_ttl_seconds?: number;
  command?: string[];
  agones_fleet?: string;
}

export interface FleetPatch {
  max_allocations?: number;
  allocation_ttl_seconds?: number;
}

export interface Actor {
  actor: string;
  ip: string;
}

const ENSURED_CACHE_LIMIT = 100_000;

export class FleetService {
  private readonly ensured = new Set<string>();

  constructor(
    private readonly store: FleetStore,
    private readonly allocations: AllocationStore,
    private readonly backend: FleetBackend,
    private readonly metrics: FleetMetrics,
    private readonly config: FleetConfig,
    private readonly logger: Logger,
  ) {}

  /** The project's `default` local fleet exists (once per project and node, then cached). */
  async ensureDefault(scope: TenantScope): Promise<void> {
    if (this.config.backend !== 'local') return;
    const key = `${scope.tenantId}:${scope.projectId}`;
    if (this.ensured.has(key)) return;
    const created = await this.store.ensureDefault(scope, this.config.defaultMaxAllocations, this.config.allocationTtlSeconds);
    if (created) {
      this.backend.addFleet(toSpec(created));
      this.logger.info({ project_id: scope.projectId, fleet: 'default' }, 'created the default local fleet');
    }
    if (this.ensured.size >= ENSURED_CACHE_LIMIT) this.ensured.clear();
    this.ensured.add(key);
  }

  async resolve(scope: TenantScope, name: string): Promise<FleetRecord> {
    await this.ensureDefault(scope);
    const fleet = await this.store.byName(scope, name);
    if (!fleet) throw notFound(`The project has no fleet named "${name}".`);
    return fleet;
  }

  async list(scope: TenantScope, limit: number, after: string | undefined): Promise<FleetRecord[]> {
    await this.ensureDefault(scope);
    return this.store.list(scope, limit, after);
  }

  async create(who: Actor, scope: TenantScope, input: FleetRegistration): Promise<FleetRecord> {
    if (input.backend !== this.config.backend) {
      throw validation(`This ggscale runs FLEET_BACKEND=${this.config.backend}; it cannot serve a fleet with backend "${input.backend}".`);
    }
    if (input.command !== undefined && input.backend !== 'local') throw validation('command is only for fleets with backend "local".');
    if (input.agones_fleet !== undefined && input.backend !== 'agones') throw validation('agones_fleet is only for fleets with backend "agones".');
    let fleet: FleetRecord;
    try {
      fleet = await this.store.create(scope, {
        name: input.name,
        backend: input.backend,
        labels: checkLabels(input.labels, 'labels'),
        maxAllocations: input.max_allocations ?? this.config.defaultMaxAllocations,
        allocationTtlSeconds: input.allocation_ttl_seconds ?? this.config.allocationTtlSeconds,
        command: input.command ?? null,
        agonesFleet: input.agones_fleet ?? null,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`The project already has a fleet named "${input.name}".`);
      throw error;
    }
    this.audit(who, 'fleet.create', fleet, { backend: fleet.backend, custom_command: fleet.command !== null });
    this.backend.addFleet(toSpec(fleet));
    // After the operator's own fleet, so a fleet the operator names `default` wins.
    await this.ensureDefault(scope);
    return fleet;
  }

  async update(who: Actor, scope: TenantScope, name: string, patch: FleetPatch): Promise<FleetRecord> {
    const fleet = await this.store.update(scope, name, { maxAllocations: patch.max_allocations, allocationTtlSeconds: patch.allocation_ttl_seconds });
    if (!fleet) throw notFound(`The project has no fleet named "${name}".`);
    this.audit(who, 'fleet.update', fleet, { fields: Object.keys(patch) });
    return fleet;
  }

  /** Deletes a fleet: its live allocations end as Released and their game servers are shut down. */
  async remove(who: Actor, scope: TenantScope, name: string): Promise<void> {
    await this.ensureDefault(scope);
    const fleet = await this.store.remove(scope, name);
    if (!fleet) throw notFound(`The project has no fleet named "${name}".`);
    const servers = await this.allocations.releaseFleet(scope, fleet.id);
    this.metrics.allocationEnded('Released', servers.length);
    this.backend.removeFleet(fleet.id);
    await Promise.all(
      servers.map((name) => this.backend.release(name).catch((error: unknown) => this.logger.warn({ err: error, game_server: name }, 'release failed; the reconciler will retry'))),
    );
    this.audit(who, 'fleet.delete', fleet, { released: servers.length });
  }

  /** Hands the local backend every registered local fleet (its warm buffers follow them). */
  async syncLocal(): Promise<void> {
    if (this.backend.kind !== 'local') return;
    this.backend.syncFleets((await this.store.allLocal()).map(toSpec));
  }

  private audit(who: Actor, action: string, fleet: FleetRecord, extra: Record<string, unknown>): void {
    this.logger.info(
      { audit: true, actor: who.actor, ip: who.ip, action, target: `fleet:${fleet.id}`, project_id: fleet.projectId, fleet: fleet.name, ...extra },
      'operator action',
    );
  }
}
