/** SQL for registered fleets. Tenant paths go through RLS; the operator paths are named and few. */
import type { Database, Queryable, TenantScope } from '../../internal/db/database.js';
import type { FleetBackendKind } from './config.js';
import type { Labels } from './labels.js';
import type { FleetSpec } from './types.js';

export interface FleetRecord {
  id: string;
  tenantId: string;
  projectId: string;
  name: string;
  backend: FleetBackendKind;
  labels: Labels;
  maxAllocations: number;
  allocationTtlSeconds: number;
  command: string[] | null;
  agonesFleet: string | null;
  createdAt: string;
}

export type NewFleet = Omit<FleetRecord, 'id' | 'tenantId' | 'projectId' | 'createdAt'>;

interface FleetRow {
  id: string;
  tenant_id: string;
  project_id: string;
  name: string;
  backend: FleetBackendKind;
  labels: Labels;
  max_allocations: number;
  allocation_ttl_seconds: number;
  command: string[] | null;
  agones_fleet: string | null;
  created_at: Date;
}

const COLUMNS = 'id, tenant_id, project_id, name, backend, labels, max_allocations, allocation_ttl_seconds, command, agones_fleet, created_at';

export function toFleet(row: FleetRow): FleetRecord {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    projectId: String(row.project_id),
    name: row.name,
    backend: row.backend,
    labels: row.labels ?? {},
    maxAllocations: Number(row.max_allocations),
    allocationTtlSeconds: Number(row.allocation_ttl_seconds),
    command: row.command ?? null,
    agonesFleet: row.agones_fleet ?? null,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export function toSpec(fleet: FleetRecord): FleetSpec {
  return {
    tenantId: fleet.tenantId,
    projectId: fleet.projectId,
    fleetId: fleet.id,
    name: fleet.name,
    labels: fleet.labels,
    command: fleet.command,
    agonesFleet: fleet.agonesFleet,
  };
}

export class FleetStore {
  constructor(private readonly db: Database) {}

  /**
   * The project's `default` local fleet, unless it has (or ever had: a tombstone counts) one. Returns the
   * fleet when this call created it.
   */
  async ensureDefault(scope: TenantScope, maxAllocations: number, ttlSeconds: number): Promise<FleetRecord | undefined> {
    const [row] = await this.db.tenantQuery<FleetRow>(
      scope,
      `insert into fleets (tenant_id, project_id, name, backend, max_allocations, allocation_ttl_seconds)
       select $1, $2, 'default', 'local', $3, $4
        where not exists (select 1 from fleets where name = 'default')
       on conflict (tenant_id, project_id, name) where deleted_at is null do nothing
       returning ${COLUMNS}`,
      [scope.tenantId, scope.projectId!, maxAllocations, ttlSeconds],
    );
    return row && toFleet(row);
  }

  async byName(scope: TenantScope, name: string): Promise<FleetRecord | undefined> {
    const [row] = await this.db.tenantQuery<FleetRow>(scope, `select ${COLUMNS} from fleets where name = $1 and deleted_at is null`, [name]);
    return row && toFleet(row);
  }

  /** Live fleets of the project, by name (byte order), after the cursor's name. */
  async list(scope: TenantScope, limit: number, after: string | undefined): Promise<FleetRecord[]> {
    const rows = await this.db.tenantQuery<FleetRow>(
      scope,
      `select ${COLUMNS} from fleets where deleted_at is null and name > $1 order by name limit $2`,
      [after ?? '', limit],
    );
    return rows.map(toFleet);
  }

  /** Operator path: inserts in the project's own scope. */
  async create(scope: TenantScope, fleet: NewFleet): Promise<FleetRecord> {
    const [row] = await this.db.tenantQuery<FleetRow>(
      scope,
      `insert into fleets (tenant_id, project_id, name, backend, labels, max_allocations, allocation_ttl_seconds, command, agones_fleet)
       values ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8::text::jsonb, $9)
       returning ${COLUMNS}`,
      [
        scope.tenantId,
        scope.projectId!,
        fleet.name,
        fleet.backend,
        JSON.stringify(fleet.labels),
        fleet.maxAllocations,
        fleet.allocationTtlSeconds,
        fleet.command === null ? null : JSON.stringify(fleet.command),
        fleet.agonesFleet,
      ],
    );
    return toFleet(row!);
  }

  /** Operator path (the runtime role may not change fleets). */
  async update(scope: TenantScope, name: string, patch: { maxAllocations?: number; allocationTtlSeconds?: number }): Promise<FleetRecord | undefined> {
    const [row] = await this.db.operator('fleet.update', (tx) =>
      tx.query<FleetRow>(
        `update fleets set max_allocations = coalesce($4, max_allocations), allocation_ttl_seconds = coalesce($5, allocation_ttl_seconds)
          where tenant_id = $1 and project_id = $2 and name = $3 and deleted_at is null
          returning ${COLUMNS}`,
        [scope.tenantId, scope.projectId!, name, patch.maxAllocations ?? null, patch.allocationTtlSeconds ?? null],
      ),
    );
    return row && toFleet(row);
  }

  /** Operator path: leaves a tombstone, under the fleet's quota lock so no allocation slips in meanwhile. */
  async remove(scope: TenantScope, name: string): Promise<FleetRecord | undefined> {
    return this.db.operator('fleet.delete', async (tx) => {
      const [live] = await tx.query<{ id: string }>(
        'select id from fleets where tenant_id = $1 and project_id = $2 and name = $3 and deleted_at is null',
        [scope.tenantId, scope.projectId!, name],
      );
      if (!live) return undefined;
      await lockFleetQuota(tx, String(live.id));
      const [row] = await tx.query<FleetRow>(`update fleets set deleted_at = now() where id = $1 returning ${COLUMNS}`, [live.id]);
      return row && toFleet(row);
    });
  }

  /** Scheduler path: every live local fleet (the local backend keeps warm buffers for these). */
  async allLocal(limit = 10_000): Promise<FleetRecord[]> {
    const rows = await this.db.operator('fleet.sync', (tx) =>
      tx.query<FleetRow>(`select ${COLUMNS} from fleets where backend = 'local' and deleted_at is null order by id limit $1`, [limit]),
    );
    return rows.map(toFleet);
  }
}

/** Serialises quota checks of one fleet (transaction-scoped; any role may take advisory locks). */
export async function lockFleetQuota(tx: Queryable, fleetId: string): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(1179407409, ($1::bigint % 2147483647)::int)', [fleetId]);
}
