/** The SQL of matchmaker pools, always inside the caller's tenant and project (row-level security). */
import type { Database } from '../../internal/db/database.js';
import { scopeParams } from '../../internal/db/database.js';
import { isUniqueViolation } from '../../internal/db/errors.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { Pool, PoolSettings } from './pool.js';
import type { Ticket } from './ticket.js';
import { endTickets } from './ticket-store.js';

interface PoolRow {
  id: string;
  rules: Omit<PoolSettings, 'id'>;
  created_at: Date;
  updated_at: Date;
}

export interface PoolStats {
  tickets_searching: number;
  players_searching: number;
  oldest_wait_seconds: number;
  matches_last_hour: number;
}

const COLUMNS = 'id, rules, created_at, updated_at';

const toPool = (row: PoolRow): Pool => ({
  id: row.id,
  ...row.rules,
  created_at: new Date(row.created_at).toISOString(),
  updated_at: new Date(row.updated_at).toISOString(),
});

const rulesJson = ({ id: _id, ...rules }: PoolSettings): string => JSON.stringify(rules);

export type CreateOutcome = { pool: Pool } | { taken: true } | { full: true };

export class PoolStore {
  constructor(private readonly db: Database) {}

  /** Creates the pool unless the id is taken or the project already has `maxPools` pools. */
  async create(scope: ProjectScope, settings: PoolSettings, maxPools: number): Promise<CreateOutcome> {
    try {
      return await this.db.withTenant(scope, async (tx) => {
        // One creation at a time per project, so two concurrent creates cannot both pass the count.
        await tx.query("select pg_advisory_xact_lock(hashtextextended('matchmaker-pools:' || $1 || ':' || $2, 0))", scopeParams(scope));
        const [count] = await tx.query<{ n: string }>('select count(*) as n from matchmaker_pools where tenant_id = $1 and project_id = $2', scopeParams(scope));
        if (Number(count!.n) >= maxPools) return { full: true as const };
        const [row] = await tx.query<PoolRow>(
          `insert into matchmaker_pools (tenant_id, project_id, id, rules, created_at, updated_at)
           values ($1, $2, $3, $4::jsonb, date_trunc('milliseconds', now()), date_trunc('milliseconds', now())) returning ${COLUMNS}`,
          [...scopeParams(scope), settings.id, rulesJson(settings)],
        );
        return { pool: toPool(row!) };
      });
    } catch (error) {
      if (isUniqueViolation(error)) return { taken: true };
      throw error;
    }
  }

  async get(scope: ProjectScope, id: string): Promise<Pool | undefined> {
    const [row] = await this.db.tenantQuery<PoolRow>(scope, `select ${COLUMNS} from matchmaker_pools where tenant_id = $1 and project_id = $2 and id = $3`, [
      ...scopeParams(scope),
      id,
    ]);
    return row && toPool(row);
  }

  async list(scope: ProjectScope, afterId: string | undefined, limit: number): Promise<Pool[]> {
    const rows = await this.db.tenantQuery<PoolRow>(
      scope,
      `select ${COLUMNS} from matchmaker_pools where tenant_id = $1 and project_id = $2 and ($3::text is null or id > $3::text)
       order by id limit $4`,
      [...scopeParams(scope), afterId ?? null, limit],
    );
    return rows.map(toPool);
  }

  /**
   * Replaces the pool's rules if it is still the version read (its updated_at, kept to the millisecond and
   * always moved forward, so it is exactly what the API showed): a compare-and-set, so a PATCH computed from a
   * stale read is retried rather than undoing a concurrent one. 'gone': no such pool.
   */
  async update(scope: ProjectScope, settings: PoolSettings, readAt: string): Promise<Pool | 'stale' | 'gone'> {
    const [row] = await this.db.tenantQuery<PoolRow>(
      scope,
      `update matchmaker_pools set rules = $4::jsonb, updated_at = date_trunc('milliseconds', greatest(clock_timestamp(), updated_at + interval '1 millisecond'))
       where tenant_id = $1 and project_id = $2 and id = $3 and updated_at = $5::timestamptz
       returning ${COLUMNS}`,
      [...scopeParams(scope), settings.id, rulesJson(settings), readAt],
    );
    if (row) return toPool(row);
    return (await this.get(scope, settings.id)) ? 'stale' : 'gone';
  }

  /**
   * Deletes the pool; its searching tickets end cancelled (pool-deleted), dissolving the groups being allocated,
   * in the same transaction. Answers the tickets it ended, or undefined when there was no pool.
   */
  async delete(scope: ProjectScope, id: string): Promise<Ticket[] | undefined> {
    return this.db.withTenant(scope, async (tx) => {
      const params = [...scopeParams(scope), id];
      const deleted = await tx.query('delete from matchmaker_pools where tenant_id = $1 and project_id = $2 and id = $3 returning id', params);
      if (deleted.length === 0) return undefined;
      const searching = await tx.query<{ id: string }>(
        `select id from matchmaker_tickets where tenant_id = $1 and project_id = $2 and pool_id = $3 and state = 'searching'`,
        params,
      );
      return endTickets(tx, scope, searching.map((row) => String(row.id)), 'cancelled', 'pool-deleted');
    });
  }

  async stats(scope: ProjectScope, id: string): Promise<PoolStats> {
    const [row] = await this.db.tenantQuery<{ tickets: string; players: string | null; oldest: Date | null; matches: string }>(
      scope,
      `select
         (select count(*) from matchmaker_tickets t where t.tenant_id = $1 and t.project_id = $2 and t.pool_id = $3 and t.state = 'searching') as tickets,
         (select sum(cardinality(t.players)) from matchmaker_tickets t where t.tenant_id = $1 and t.project_id = $2 and t.pool_id = $3 and t.state = 'searching') as players,
         (select min(t.created_at) from matchmaker_tickets t where t.tenant_id = $1 and t.project_id = $2 and t.pool_id = $3 and t.state = 'searching') as oldest,
         (select count(*) from matchmaker_matches m where m.tenant_id = $1 and m.project_id = $2 and m.pool_id = $3 and m.state = 'ready'
            and m.created_at > now() - interval '1 hour') as matches`,
      [...scopeParams(scope), id],
    );
    return {
      tickets_searching: Number(row!.tickets),
      players_searching: Number(row!.players ?? 0),
      oldest_wait_seconds: row!.oldest ? Math.max(0, Math.floor((Date.now() - new Date(row!.oldest).getTime()) / 1000)) : 0,
      matches_last_hour: Number(row!.matches),
    };
  }
}
