/** SQL for allocations: the request path through RLS, the sweeps on the named operator path. */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Database, Queryable, TenantScope } from '../../internal/db/database.js';
import { notFound, AppError } from '../../internal/errors/app-error.js';
import type { IdempotencyApi, IdempotencyTicket, IdempotentRequest } from '../idempotency/api.js';
import type { FleetBackendKind } from './config.js';
import { lockFleetQuota, type FleetRecord } from './fleet-store.js';
import type { Labels } from './labels.js';
import type { GameServerPort, GameServerView } from './types.js';

export type AllocationState = 'Pending' | 'Allocated' | 'Released' | 'Expired' | 'Ended' | 'Lost';
export type EndedState = Exclude<AllocationState, 'Pending' | 'Allocated'>;

export interface AllocationRecord {
  id: string;
  fleet: string;
  gameServer: string;
  state: AllocationState;
  address: string;
  ports: GameServerPort[];
  expiresAt: string;
  createdAt: string;
  endedAt: string | null;
}

interface AllocationRow {
  id: string;
  fleet: string;
  game_server: string | null;
  state: AllocationState;
  address: string | null;
  ports: GameServerPort[];
  expires_at: Date | null;
  created_at: Date;
  ended_at: Date | null;
}

/** A live allocation as the sweeps see it (any tenant). */
export interface LiveAllocation {
  id: string;
  tenantId: string;
  projectId: string;
  backend: FleetBackendKind;
  state: 'Pending' | 'Allocated';
  gameServer: string | null;
  ageMs: number;
  allocatedAgeMs: number | null;
}

// An allocation is created (for the client) when its game server was allocated; the row exists from its Pending reservation.
const SELECT = `select a.id, f.name as fleet, a.game_server, a.state, a.address, a.ports, a.expires_at, coalesce(a.allocated_at, a.created_at) as created_at, a.ended_at
  from fleet_allocations a join fleets f on f.tenant_id = a.tenant_id and f.project_id = a.project_id and f.id = a.fleet_id`;

const iso = (value: Date | null): string | null => (value === null ? null : new Date(value).toISOString());

function toRecord(row: AllocationRow): AllocationRecord {
  return {
    id: String(row.id),
    fleet: row.fleet,
    gameServer: row.game_server ?? '',
    state: row.state,
    address: row.address ?? '',
    ports: row.ports ?? [],
    expiresAt: iso(row.expires_at) ?? iso(row.created_at)!,
    createdAt: iso(row.created_at)!,
    endedAt: iso(row.ended_at),
  };
}

/** What an Idempotency-Key of an allocation answers with: the allocation, read back by id. */
interface FirstAllocation {
  allocation_id: string;
}

export type Reservation =
  /** A Pending row holds a slot; `ticket` is the Idempotency-Key this request claimed, if it sent one. */
  | { kind: 'reserved'; id: string; ticket: IdempotencyTicket | null }
  /** The key's first request allocated this. */
  | { kind: 'replay'; allocationId: string }
  /** The key's first request is still allocating. */
  | { kind: 'in-progress' };

export interface ReserveInput {
  fleet: FleetRecord;
  labels: Labels;
  metadata: { labels: Labels; annotations: Labels };
  idempotent: IdempotentRequest | undefined;
}

/** The allocation a failed attempt leaves behind, and the Idempotency-Key it claimed. */
export interface Attempt {
  id: string;
  ticket: IdempotencyTicket | null;
}

export class AllocationStore {
  /**
   * `abandonAfterMs`: how old a Pending allocation is when the reconciler drops it as left behind by a
   * stopped node; a key claimed that long ago without an answer is taken over by its next retry then too.
   */
  constructor(
    private readonly db: Database,
    private readonly idempotency: IdempotencyApi,
    private readonly abandonAfterMs: number,
  ) {}

  /**
   * One transaction: claims the Idempotency-Key (a retry gets the first allocation back, or waits for the
   * first request's claim to commit and then hears it is in progress); takes the fleet's quota lock, counts
   * its live allocations and inserts a Pending row that holds a slot. A refusal rolls the claim back.
   */
  async reserve(scope: ProjectScope, input: ReserveInput): Promise<Reservation> {
    return this.db.withTenant(scope, async (tx) => {
      let ticket: IdempotencyTicket | null = null;
      if (input.idempotent) {
        const claim = await this.idempotency.claim<FirstAllocation>(tx, scope, input.idempotent, { abandonAfterMs: this.abandonAfterMs });
        if (claim.status === 'replay') return { kind: 'replay', allocationId: claim.answer.allocation_id } as const;
        if (claim.status === 'in-progress') return { kind: 'in-progress' } as const;
        ticket = claim.ticket;
      }
      await lockFleetQuota(tx, input.fleet.id);
      // Under the fleet's lock: a slot is taken only while the live count is below the quota.
      const [row] = await tx.query<{ id: string }>(
        `insert into fleet_allocations (tenant_id, project_id, fleet_id, backend, state, labels, metadata)
         select $1, $2, f.id, f.backend, 'Pending', $4::text::jsonb, $5::text::jsonb
           from fleets f
          where f.id = $3 and f.deleted_at is null
            and (select count(*) from fleet_allocations a where a.fleet_id = f.id and a.state in ('Pending', 'Allocated')) < f.max_allocations
         returning id`,
        [scope.tenantId, scope.projectId, input.fleet.id, JSON.stringify(input.labels), JSON.stringify(input.metadata)],
      );
      if (!row) {
        const [fleet] = await tx.query<{ max_allocations: number }>('select max_allocations from fleets where id = $1 and deleted_at is null', [input.fleet.id]);
        if (!fleet) throw notFound(`The project has no fleet named "${input.fleet.name}".`);
        throw new AppError('quota-exceeded', `The fleet "${input.fleet.name}" already has its maximum of ${fleet.max_allocations} live allocations.`);
      }
      return { kind: 'reserved', id: String(row.id), ticket } as const;
    });
  }

  /**
   * Pending → Allocated, and the allocation stored as its Idempotency-Key's answer, in one transaction.
   * Undefined when the fleet was deleted meanwhile (release the server); `lost` when the key was taken over
   * (this attempt outlived its claim): nothing is changed then either.
   */
  async markAllocated(
    scope: ProjectScope,
    attempt: Attempt,
    server: GameServerView,
    node: string | null,
    ttlSeconds: number,
  ): Promise<AllocationRecord | 'lost' | undefined> {
    return this.db.withTenant(scope, async (tx) => {
      const allocation = await this.allocated(tx, attempt.id, server, node, ttlSeconds);
      if (!allocation || !attempt.ticket) return allocation;
      if (await this.idempotency.store(tx, attempt.ticket, { allocation_id: allocation.id } satisfies FirstAllocation)) return allocation;
      throw new ClaimLost();
    }).catch((error: unknown) => {
      if (error instanceof ClaimLost) return 'lost' as const;
      throw error;
    });
  }

  private async allocated(tx: Queryable, id: string, server: GameServerView, node: string | null, ttlSeconds: number): Promise<AllocationRecord | undefined> {
    const [row] = await tx.query<AllocationRow>(
      `with updated as (
         update fleet_allocations a
            set state = 'Allocated', game_server = $2, address = $3, ports = $4::text::jsonb, node = $5,
                allocated_at = now(), expires_at = now() + make_interval(secs => $6)
           from fleets f
          where a.id = $1 and a.state = 'Pending'
            and f.tenant_id = a.tenant_id and f.project_id = a.project_id and f.id = a.fleet_id and f.deleted_at is null
        returning a.*, f.name as fleet)
       select id, fleet, game_server, state, address, ports, expires_at, allocated_at as created_at, ended_at from updated`,
      [id, server.name, server.address, JSON.stringify(server.ports), node, ttlSeconds],
    );
    return row && toRecord(row);
  }

  /** A failed attempt leaves nothing: its Pending row goes, and its Idempotency-Key is free for the retry. */
  async dropPending(scope: ProjectScope, attempt: Attempt): Promise<void> {
    await this.db.withTenant(scope, async (tx) => {
      await tx.query("delete from fleet_allocations where id = $1 and state = 'Pending'", [attempt.id]);
      if (attempt.ticket) await this.idempotency.release(tx, attempt.ticket);
    });
  }

  async get(scope: TenantScope, id: string): Promise<AllocationRecord | undefined> {
    const [row] = await this.db.tenantQuery<AllocationRow>(scope, `${SELECT} where a.id = $1 and a.state <> 'Pending'`, [id]);
    return row && toRecord(row);
  }

  /** Newest first; `before` is the id of the last item of the previous page. */
  async list(scope: TenantScope, q: { limit: number; before?: string; state?: AllocationState; fleet?: string }): Promise<AllocationRecord[]> {
    const rows = await this.db.tenantQuery<AllocationRow>(
      scope,
      `${SELECT} where a.state <> 'Pending' and a.id < $1 and ($2::text is null or a.state = $2) and ($3::text is null or f.name = $3)
        order by a.id desc limit $4`,
      [q.before ?? '9223372036854775807', q.state ?? null, q.fleet ?? null, q.limit],
    );
    return rows.map(toRecord);
  }

  /** Allocated → Released; answers the game server to shut down, or null when it had already ended. */
  async claimRelease(scope: TenantScope, id: string): Promise<{ gameServer: string; backend: FleetBackendKind } | null | undefined> {
    const [row] = await this.db.tenantQuery<{ game_server: string | null; backend: FleetBackendKind; released: boolean }>(
      scope,
      `with released as (
         update fleet_allocations set state = 'Released', ended_at = now() where id = $1 and state = 'Allocated' returning id)
       select game_server, backend, exists (select 1 from released) as released from fleet_allocations where id = $1 and state <> 'Pending'`,
      [id],
    );
    if (!row) return undefined;
    return row.released && row.game_server ? { gameServer: row.game_server, backend: row.backend } : null;
  }

  // --- operator paths, used by the sweeps and by fleet deletion ---

  /** Allocated rows past their TTL become Expired; answers their game servers to release. */
  async expireDue(limit: number): Promise<Array<{ id: string; gameServer: string; backend: FleetBackendKind }>> {
    const rows = await this.db.operator('fleet.expire', (tx) =>
      tx.query<{ id: string; game_server: string; backend: FleetBackendKind }>(
        `update fleet_allocations set state = 'Expired', ended_at = now()
          where id in (select id from fleet_allocations where state = 'Allocated' and expires_at <= now()
                        order by expires_at limit $1 for update skip locked)
          returning id, game_server, backend`,
        [limit],
      ),
    );
    return rows.map((r) => ({ id: String(r.id), gameServer: r.game_server, backend: r.backend }));
  }

  /** Every live allocation of a backend (and node, for the local backend). */
  async live(backend: FleetBackendKind, node: string | null): Promise<LiveAllocation[]> {
    const rows = await this.db.operator('fleet.reconcile', (tx) =>
      tx.query<{ id: string; tenant_id: string; project_id: string; state: 'Pending' | 'Allocated'; game_server: string | null; age_ms: number; allocated_age_ms: number | null }>(
        `select id, tenant_id, project_id, state, game_server,
                (extract(epoch from now() - created_at) * 1000)::float8 as age_ms,
                (extract(epoch from now() - allocated_at) * 1000)::float8 as allocated_age_ms
           from fleet_allocations
          where backend = $1 and state in ('Pending', 'Allocated') and ($2::text is null or state = 'Pending' or node = $2)
          limit 100000`,
        [backend, node],
      ),
    );
    return rows.map((r) => ({
      id: String(r.id),
      tenantId: String(r.tenant_id),
      projectId: String(r.project_id),
      backend,
      state: r.state,
      gameServer: r.game_server,
      ageMs: Number(r.age_ms),
      allocatedAgeMs: r.allocated_age_ms === null ? null : Number(r.allocated_age_ms),
    }));
  }

  /** Ends a live allocation if it still points at this game server; true when it did. */
  async end(id: string, gameServer: string, state: EndedState): Promise<boolean> {
    const rows = await this.db.operator('fleet.reconcile', (tx) =>
      tx.query(
        "update fleet_allocations set state = $3, ended_at = now() where id = $1 and game_server = $2 and state = 'Allocated' returning id",
        [id, gameServer, state],
      ),
    );
    return rows.length > 0;
  }

  async dropStalePending(id: string): Promise<void> {
    await this.db.operator('fleet.reconcile', (tx) => tx.query("delete from fleet_allocations where id = $1 and state = 'Pending'", [id]));
  }

  /** Which of these allocation ids are live (Pending or Allocated), for finding leaked game servers. */
  async liveAmong(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.operator('fleet.reconcile', (tx) =>
      tx.query<{ id: string }>("select id from fleet_allocations where id = any($1::text::bigint[]) and state in ('Pending', 'Allocated')", [`{${ids.join(',')}}`]),
    );
    return new Set(rows.map((r) => String(r.id)));
  }

  /** A deleted fleet's live allocations end as Released; answers their game servers. */
  async releaseFleet(scope: TenantScope, fleetId: string): Promise<string[]> {
    const rows = await this.db.tenantQuery<{ game_server: string | null }>(
      scope,
      "update fleet_allocations set state = 'Released', ended_at = now() where fleet_id = $1 and state = 'Allocated' returning game_server",
      [fleetId],
    );
    return rows.flatMap((r) => (r.game_server ? [r.game_server] : []));
  }
}

/** Thrown inside markAllocated's transaction when the Idempotency-Key is no longer this attempt's. */
class ClaimLost extends Error {}
