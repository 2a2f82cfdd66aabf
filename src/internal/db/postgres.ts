/**
 * Real PostgreSQL. Requests use our own wire-protocol connections (wire/connection.ts): tenantQuery sends the
 * scope and the statement with one Sync, one implicit transaction the server answers at once, and a
 * withTenant transaction sends BEGIN + scope together with fn's first statement. The migrator alone uses
 * postgres.js (ownerSql: DDL scripts of several statements, once per start).
 */
import type { Sql } from 'postgres';
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
import { currentDeadline } from '../deadline.js';
import { ConnectionPool, type Lease } from './postgres-pool.js';
import { PgConnection } from './wire/connection.js';
import { parseConnectionUrl, tlsOptions } from './wire/connection-options.js';

export interface PostgresOptions {
  url: string;
  /** Owner role (migrations, operator path); defaults to url. */
  operatorUrl?: string;
  poolSize: number;
  statementTimeoutMs: number;
  onOperator?: (action: string) => void;
  /**
   * If the server runs with autovacuum = off, keep ggscale's planner statistics ourselves (ANALYZE of the
   * tables that changed enough), at most every this many ms (openDatabase passes the embedded database's
   * interval); 0 or unset leaves them to the server. onMaintenance hears, once, that it started.
   */
  maintenanceIntervalMs?: number;
  onMaintenance?: (message: string) => void;
}

const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 60_000;
/**
 * Work with no request deadline (background jobs, start-up) still gives up on a server that stopped answering:
 * the server itself cancels a statement at statement_timeout, so one with no answer this much later is on a
 * frozen server or a dead network; it is cancelled and its connection discarded.
 */
const UNANSWERED_AFTER_STATEMENT_TIMEOUT_MS = 5_000;

/** A pool of `size` connections to `url` as ggscale opens them (also the benchmarks' plain-select baseline). */
export function openPool(url: string, size: number, statementTimeoutMs: number, applicationName = 'ggscale'): ConnectionPool {
  const target = parseConnectionUrl(url, { application_name: applicationName, statement_timeout: String(statementTimeoutMs) });
  return new ConnectionPool({
    size,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    create: (onClose) =>
      new PgConnection(target, { connectTimeoutMs: CONNECT_TIMEOUT_MS, unitTimeoutMs: statementTimeoutMs + UNANSWERED_AFTER_STATEMENT_TIMEOUT_MS, onClose }),
  });
}

export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  private inUse = 0;
  private waiting = 0;
  /** Planner statistics where autovacuum is off (planner-statistics.ts, shared with the postgres.js driver). */
  private readonly maintenance = new PlannerStatistics((text) => this.onOwnerConnection((conn) => conn.query(text)));
  private closing = false;

  private constructor(
    private readonly pool: ConnectionPool,
    private readonly operatorPool: ConnectionPool,
    /** The owner connection, for the migrator (postgres.js connects lazily, at its first statement). */
    readonly ownerSql: Sql,
    private readonly options: PostgresOptions,
  ) {}

  static async open(options: PostgresOptions): Promise<PostgresDatabase> {
    const operatorUrl = options.operatorUrl ?? options.url;
    const pool = openPool(options.url, options.poolSize, options.statementTimeoutMs);
    const operatorPool = operatorUrl !== options.url ? openPool(operatorUrl, 2, options.statementTimeoutMs) : pool;
    // postgres.js would send the libpq-only URL parameters to the server as settings: TLS is given to it as
    // options instead, read from the URL the same way as for our own connections.
    const { default: postgres } = await import('postgres');
    const owner = new URL(operatorUrl);
    const target = parseConnectionUrl(operatorUrl, {});
    for (const name of ['sslmode', 'sslrootcert', 'ssl']) owner.searchParams.delete(name);
    const ownerSql = postgres(owner.toString(), {
      max: 2,
      connection: { application_name: 'ggscale', statement_timeout: options.statementTimeoutMs },
      ssl: target.sslMode === 'disable' ? false : target.sslMode === 'prefer' ? 'prefer' : tlsOptions(target),
      onnotice: () => undefined,
      connect_timeout: CONNECT_TIMEOUT_MS / 1000,
      idle_timeout: IDLE_TIMEOUT_MS / 1000,
      types: {},
    });
    const db = new PostgresDatabase(pool, operatorPool, ownerSql, options);
    if (options.maintenanceIntervalMs) void db.keepStatisticsIfAutovacuumIsOff(options.maintenanceIntervalMs);
    return db;
  }

  private async keepStatisticsIfAutovacuumIsOff(intervalMs: number): Promise<void> {
    await this.maintenance.startIfAutovacuumIsOff(intervalMs, this.options.onMaintenance);
  }

  /** One ANALYZE per stale table, each on its own hold of an owner connection. */
  async refreshStatistics(): Promise<void> {
    await this.maintenance.refresh();
  }

  /** A statement of its own on the owner's pool: no transaction, and not an operator action (nothing logged). */
  private async onOwnerConnection<T>(work: (conn: Lease) => Promise<T>): Promise<T> {
    const conn = await this.reserve(this.operatorPool);
    try {
      return await work(conn);
    } finally {
      conn.release();
    }
  }

  private async reserve(pool: ConnectionPool, signal?: AbortSignal): Promise<Lease> {
    this.waiting++;
    try {
      return await pool.acquire(signal);
    } finally {
      this.waiting--;
    }
  }

  /**
   * The request's deadline (if any) bounds the wait for a connection and every statement: once it passes, the
   * pool cancels the statement and discards the connection, so the server rolls the transaction back.
   */
  async withTenant<T>(scope: TenantScope, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const params = scopeParams(scope);
    const signal = currentDeadline();
    const conn = await this.reserve(this.pool, signal);
    this.inUse++;
    try {
      return await transaction(conn, [['begin', []], [SET_TENANT_SCOPE_SQL, params]], fn, signal);
    } finally {
      this.inUse--;
      conn.release();
    }
  }

  async tenantQuery<T extends object = Row>(scope: TenantScope, text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const scopeValues = scopeParams(scope);
    const signal = currentDeadline();
    const conn = await this.reserve(this.pool, signal);
    this.inUse++;
    try {
      // One implicit transaction: if the statement fails, the server rolls the scope back with it at the Sync.
      const [, rows] = await conn.pipeline(
        [
          [SET_TENANT_SCOPE_SQL, scopeValues],
          [text, params],
        ],
        signal,
      );
      return rows as T[];
    } finally {
      this.inUse--;
      conn.release();
    }
  }

  async operator<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.options.onOperator?.(action);
    const signal = currentDeadline();
    const conn = await this.reserve(this.operatorPool, signal);
    try {
      return await transaction(conn, [['begin', []]], fn, signal);
    } finally {
      conn.release();
    }
  }

  async ping(): Promise<void> {
    const signal = currentDeadline();
    const conn = await this.reserve(this.pool, signal);
    try {
      await conn.query('select 1', [], signal);
    } finally {
      conn.release();
    }
  }

  poolStats(): PoolStats {
    return { max: this.options.poolSize, inUse: this.inUse, waiting: this.waiting };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.maintenance?.stop();
    await this.pool.close(5);
    if (this.operatorPool !== this.pool) await this.operatorPool.close(5);
    await this.ownerSql.end({ timeout: 5 });
  }
}

/**
 * BEGIN and the opening statements, fn, COMMIT; ROLLBACK when anything fails. The opening is queued without
 * awaiting, so it travels with fn's first statement; if it failed, fn only sees "transaction is aborted", so
 * the opening's own error is the one reported.
 */
async function transaction<T>(
  conn: Lease,
  opening: readonly (readonly [string, readonly SqlParam[]])[],
  fn: (tx: Queryable) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const opened = conn.pipeline(opening, signal);
  opened.catch(() => undefined);
  try {
    const result = await fn(signal ? bound(conn, signal) : conn);
    await opened;
    await conn.query('commit', [], signal);
    return result;
  } catch (error) {
    const openError: unknown = await opened.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    await conn.rollback();
    throw openError ?? error;
  }
}

/** The lease as fn sees it: every statement carries the request's deadline. */
function bound(conn: Lease, signal: AbortSignal): Queryable {
  return { query: (text, params) => conn.query(text, params, signal) };
}
