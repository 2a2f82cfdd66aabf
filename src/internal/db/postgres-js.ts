/**
 * Real PostgreSQL through postgres.js (DATABASE_DRIVER=postgres.js), interchangeable with our own client
 * (postgres.ts): the same transactions, roles and settings, the same value shapes (postgres-js-settings.ts),
 * the same error fields (code, constraint_name). The connections are postgres-js-pool.ts's.
 *
 * What it costs: postgres.js ends every statement with its own Sync, so a tenant read is BEGIN, scope,
 * statement and COMMIT, four answers from the server, even though all four leave in one write; ours sends
 * scope + statement with one Sync (bench/foundation.ts measures both).
 */
import type { Sql } from 'postgres';
import { currentDeadline } from '../deadline.js';
import {
  SET_TENANT_SCOPE_SQL,
  scopeParams,
  type Database,
  type PoolStats,
  type Queryable,
  type Row,
  type SqlParam,
  type TenantScope,
} from './database.js';
import { PlannerStatistics } from './planner-statistics.js';
import { PostgresJsPool, type PostgresJsLease } from './postgres-js-pool.js';
import { postgresJsSettings } from './postgres-js-settings.js';
import type { PostgresOptions } from './postgres.js';

export interface PostgresJsOptions extends PostgresOptions {
  /** Callers that may wait for a connection (POOL_QUEUE_FULL past it); default max(4 × poolSize, 256). */
  maxWaiting?: number;
  /** The longest wait for a connection (POOL_TIMEOUT); default 10 s. */
  acquireTimeoutMs?: number;
}

const IDLE_TIMEOUT_MS = 60_000;
/** No answer this long after statement_timeout: a frozen server or a dead network (as with the wire client). */
const UNANSWERED_AFTER_STATEMENT_TIMEOUT_MS = 5_000;
const OPERATOR_POOL_SIZE = 2;

function openPool(url: string, size: number, options: PostgresJsOptions, applicationName = 'ggscale'): PostgresJsPool {
  return new PostgresJsPool({
    settings: postgresJsSettings(url, applicationName, options.statementTimeoutMs),
    size,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    unansweredTimeoutMs: options.statementTimeoutMs + UNANSWERED_AFTER_STATEMENT_TIMEOUT_MS,
    ...(options.maxWaiting !== undefined ? { maxWaiting: options.maxWaiting } : {}),
    ...(options.acquireTimeoutMs !== undefined ? { acquireTimeoutMs: options.acquireTimeoutMs } : {}),
  });
}

export class PostgresJsDatabase implements Database {
  readonly kind = 'postgres' as const;
  private readonly maintenance = new PlannerStatistics((text) => this.onOwnerConnection((lease) => lease.query(text)));

  private constructor(
    private readonly pool: PostgresJsPool,
    private readonly operatorPool: PostgresJsPool,
    /** The owner connection, for the migrator (a postgres.js pool of its own; it connects at its first statement). */
    readonly ownerSql: Sql,
    private readonly options: PostgresJsOptions,
  ) {}

  static async open(options: PostgresJsOptions): Promise<PostgresJsDatabase> {
    const operatorUrl = options.operatorUrl ?? options.url;
    const pool = openPool(options.url, options.poolSize, options);
    const operatorPool = operatorUrl !== options.url ? openPool(operatorUrl, OPERATOR_POOL_SIZE, options) : pool;
    const { default: postgres } = await import('postgres');
    const owner = postgresJsSettings(operatorUrl, 'ggscale', options.statementTimeoutMs).options;
    // The migrator's statements (DDL scripts) see postgres.js's own value shapes, as with the other driver.
    // fetch_types stays on: with it off, sql.reserve() on a connection not yet open never resolves (3.4.9).
    const ownerSql = postgres({ ...owner, max: OPERATOR_POOL_SIZE, types: {}, fetch_types: true, idle_timeout: IDLE_TIMEOUT_MS / 1000 });
    const db = new PostgresJsDatabase(pool, operatorPool, ownerSql, options);
    if (options.maintenanceIntervalMs) void db.maintenance.startIfAutovacuumIsOff(options.maintenanceIntervalMs, options.onMaintenance);
    return db;
  }

  /** Analyzes the tables whose statistics are stale (what the maintenance schedule runs). */
  refreshStatistics(): Promise<void> {
    return this.maintenance.refresh();
  }

  /** A statement of its own on the owner's pool: no transaction, and not an operator action (nothing logged). */
  private async onOwnerConnection<T>(work: (lease: PostgresJsLease) => Promise<T>): Promise<T> {
    const lease = await this.operatorPool.acquire(currentDeadline());
    try {
      return await work(lease);
    } finally {
      lease.release();
    }
  }

  async withTenant<T>(scope: TenantScope, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.transaction(this.pool, scopeParams(scope), fn);
  }

  async tenantQuery<T extends object = Row>(scope: TenantScope, text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const scopeValues = scopeParams(scope);
    const lease = await this.pool.acquire(currentDeadline());
    try {
      // All four leave in one write. If the statement fails, the COMMIT ends the aborted transaction as a
      // ROLLBACK: the connection is idle again either way.
      const steps = [lease.command('begin'), lease.query(SET_TENANT_SCOPE_SQL, scopeValues), lease.query<T>(text, params), lease.command('commit')] as const;
      const settled = await Promise.allSettled(steps);
      // The first failure is the cause (a failed BEGIN or scope makes the statement fail as well).
      for (const step of settled) if (step.status === 'rejected') throw step.reason;
      return (settled[2] as PromiseFulfilledResult<T[]>).value;
    } finally {
      lease.release();
    }
  }

  async operator<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.options.onOperator?.(action);
    return this.transaction(this.operatorPool, undefined, fn);
  }

  /** BEGIN (and the tenant scope) queued without awaiting: they leave with fn's first statement. */
  private async transaction<T>(pool: PostgresJsPool, scope: [string, string] | undefined, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const lease = await pool.acquire(currentDeadline());
    try {
      return await lease.guard(this.run(lease, scope, fn));
    } finally {
      lease.release();
    }
  }

  private async run<T>(lease: PostgresJsLease, scope: [string, string] | undefined, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const opened = Promise.all([lease.command('begin'), scope ? lease.query(SET_TENANT_SCOPE_SQL, scope) : undefined]);
    opened.catch(() => undefined);
    try {
      const result = await fn(lease);
      await opened;
      await lease.command('commit');
      return result;
    } catch (error) {
      // A failed BEGIN or scope surfaces in fn as "transaction is aborted": report the real cause.
      const openError: unknown = await opened.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      await lease.rollback();
      throw openError ?? error;
    }
  }

  async ping(): Promise<void> {
    const lease = await this.pool.acquire(currentDeadline());
    try {
      await lease.query('select 1');
    } finally {
      lease.release();
    }
  }

  poolStats(): PoolStats {
    const stats = this.pool.stats();
    const operatorWaiting = this.operatorPool === this.pool ? 0 : this.operatorPool.stats().waiting;
    return { max: this.options.poolSize, inUse: stats.leased, waiting: stats.waiting + operatorWaiting };
  }

  async close(): Promise<void> {
    this.maintenance.stop();
    await this.pool.close(5);
    if (this.operatorPool !== this.pool) await this.operatorPool.close(5);
    await this.ownerSql.end({ timeout: 5 });
  }
}
