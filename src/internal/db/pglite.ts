/**
 * The embedded default: PGlite (Postgres compiled to WebAssembly) in GGSCALE_DATA_DIR, in a worker thread of
 * this process (pglite-worker.ts: it opens beside the HTTP stack's start-up). PGlite is ONE session that is always a superuser: every transaction is serialised by a mutex (two
 * interleaved requests would otherwise swap tenants), and RLS here guards against our own bugs, not against
 * injected SQL. Production means real PostgreSQL.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { PgliteWorkerSession } from './pglite-session.js';
import { Mutex } from './mutex.js';
import { currentDeadline, deadlineExceeded } from '../deadline.js';
import { MaintenanceSchedule } from './maintenance-schedule.js';
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

export interface PgliteOptions {
  /** A data folder, or undefined for a throwaway in-memory database. */
  dataDir?: string;
  /** A dump (from dumpDataDir) to start from: tests copy one migrated template instead of re-running initdb. */
  loadDataDir?: Blob | File;
  statementTimeoutMs: number;
  onOperator?: (action: string) => void;
  /** How often the maintenance pass runs (ANALYZE, and VACUUM where rows died); 0: never. Default 60 s. */
  maintenanceIntervalMs?: number;
}

/**
 * The transaction the current async context runs inside, while it runs. A database call made from inside it
 * (not through its `tx`) would queue behind the one session it holds and wait for itself forever: such a call
 * is refused at once instead. (On PostgreSQL it would take a second connection; here it is a bug to fix.)
 */
const insideTransaction = new AsyncLocalStorage<{ open: boolean }>();

function nestedCallError(): Error | undefined {
  if (insideTransaction.getStore()?.open) {
    return Object.assign(new Error('a database call from inside a transaction on the embedded database would wait for itself forever; use the transaction\'s tx'), {
      code: 'NESTED_TRANSACTION',
    });
  }
  return undefined;
}

export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  /** Past this many queued calls, more are refused at once (503): they could not run before their deadline. */
  private readonly mutex = new Mutex(1024);
  private inUse = 0;
  private maintenance: MaintenanceSchedule | undefined;
  private closed = false;

  private constructor(
    readonly pg: PgliteWorkerSession,
    private readonly options: PgliteOptions,
  ) {}

  static async open(options: PgliteOptions): Promise<PgliteDatabase> {
    const pg = await PgliteWorkerSession.start({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.loadDataDir === undefined ? {} : { loadDataDir: await options.loadDataDir.arrayBuffer() }),
      statementTimeoutMs: options.statementTimeoutMs,
    });
    const db = new PgliteDatabase(pg, options);
    // PGlite runs no autovacuum, so without this its tables never get planner statistics. Without them the
    // planner cannot tell the indexes that share the (tenant_id, project_id) prefix apart and may look a row
    // up by the wrong one, reading every row of the project: the soak saw each refresh-token lookup scan
    // every session and token of its project, and the whole embedded server slow down behind it. Nor would
    // dead row versions ever be reclaimed: the same pass vacuums (see maintain()).
    db.maintenance = new MaintenanceSchedule(() => db.maintain(), options.maintenanceIntervalMs);
    return db;
  }

  /**
   * Refreshes the planner statistics of ggscale's tables (what autovacuum's analyze does on PostgreSQL): a
   * few milliseconds, where a bare ANALYZE would also redo the system catalogs (~300 ms of the one session).
   */
  async analyze(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return;
      const { rows } = await this.pg.query<{ name: string }>(
        "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
      );
      if (rows.length > 0) await this.pg.query(`analyze ${rows.map((row) => row.name).join(', ')}`);
    });
  }

  /**
   * What autovacuum does on PostgreSQL, for the one embedded session: fresh planner statistics, then VACUUM of
   * each table whose dead row versions exceed autovacuum's default threshold (50 + 20% of its live rows), so
   * updated and deleted rows (refresh tokens, storage objects, leaderboard records) leave no garbage behind.
   * One table per hold of the session, so requests interleave with a long pass.
   */
  async maintain(): Promise<void> {
    await this.analyze();
    const tables = await this.mutex.run(async () => {
      if (this.closed) return [];
      const { rows } = await this.pg.query<{ name: string }>(
        "select format('%I.%I', schemaname, relname) as name from pg_stat_user_tables where n_dead_tup > 50 + 0.2 * n_live_tup",
      );
      return rows;
    });
    for (const table of tables) {
      await this.mutex.run(async () => {
        if (!this.closed) await this.pg.query(`vacuum ${table.name}`);
      });
    }
  }

  /**
   * The session for fn. Under a request deadline every statement first checks it: PGlite cannot cancel a
   * statement that runs, but once the deadline has passed nothing more runs and the transaction rolls back.
   */
  private queryable(signal: AbortSignal | undefined): Queryable {
    return {
      query: async <T extends object>(text: string, params: readonly SqlParam[] = []) => {
        if (signal?.aborted) throw deadlineExceeded();
        return (await this.pg.query<T>(text, params)).rows;
      },
    };
  }

  /** BEGIN (and the opening statements, in the same message), fn, COMMIT; ROLLBACK when anything fails. */
  private async transaction<T>(opening: { sql: string; params: readonly SqlParam[] }[], fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const signal = currentDeadline();
    const nested = nestedCallError();
    if (nested) throw nested;
    return this.mutex.run(async () => {
      this.inUse++;
      const held = { open: true };
      try {
        await this.pg.batch([{ sql: 'begin' }, ...opening]);
        try {
          const result = await insideTransaction.run(held, () => fn(this.queryable(signal)));
          held.open = false;
          // The client has been told the request failed: what it did must not commit.
          if (signal?.aborted) throw deadlineExceeded();
          await this.pg.query('commit');
          return result;
        } catch (error) {
          await this.pg.query('rollback').catch(() => undefined);
          throw error;
        }
      } finally {
        held.open = false;
        this.inUse--;
      }
    }, signal);
  }

  async withTenant<T>(scope: TenantScope, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.transaction([{ sql: SET_TENANT_SCOPE_SQL, params: scopeParams(scope) }], fn);
  }

  /** The common read: one message to the worker (BEGIN, scope, the statement, COMMIT). */
  tenantQuery<T extends object = Row>(scope: TenantScope, text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const nested = nestedCallError();
    if (nested) return Promise.reject(nested);
    return this.mutex.run(async () => {
      this.inUse++;
      try {
        const statements = [{ sql: 'begin' }, { sql: SET_TENANT_SCOPE_SQL, params: scopeParams(scope) }, { sql: text, params }, { sql: 'commit' }];
        return await this.pg.batch<T>(statements, 2);
      } finally {
        this.inUse--;
      }
    }, currentDeadline());
  }

  operator<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.options.onOperator?.(action);
    return this.transaction([], fn);
  }

  /** Runs fn while no other work may use the session (migrations drive `pg` directly inside it). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  async ping(): Promise<void> {
    await this.mutex.run(() => this.pg.query('select 1'), currentDeadline());
  }

  poolStats(): PoolStats {
    return { max: 1, inUse: this.inUse, waiting: this.mutex.waiting };
  }

  async dump(): Promise<Blob | File> {
    return this.mutex.run(() => this.pg.dumpDataDir());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.maintenance?.stop();
    await this.mutex.run(() => this.pg.close());
  }
}
