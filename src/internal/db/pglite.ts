/**
 * The embedded default: PGlite (Postgres compiled to WebAssembly) in GGSCALE_DATA_DIR, in process.
 * PGlite is ONE session that is always a superuser: every transaction is serialised by a mutex (two
 * interleaved requests would otherwise swap tenants), and RLS here guards against our own bugs, not against
 * injected SQL. Production means real PostgreSQL.
 */
import type { PGlite } from '@electric-sql/pglite';
import { Mutex } from './mutex.js';
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

const INT8_OID = 20;

export interface PgliteOptions {
  /** A data folder, or undefined for a throwaway in-memory database. */
  dataDir?: string;
  /** A dump (from dumpDataDir) to start from: tests copy one migrated template instead of re-running initdb. */
  loadDataDir?: Blob | File;
  statementTimeoutMs: number;
  onOperator?: (action: string) => void;
}

export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  private readonly mutex = new Mutex();
  private inUse = 0;

  private constructor(
    readonly pg: PGlite,
    private readonly options: PgliteOptions,
  ) {}

  static async open(options: PgliteOptions): Promise<PgliteDatabase> {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = new PGlite({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
      // int8 ids stay strings, as with postgres.js.
      parsers: { [INT8_OID]: (value: string) => value },
    });
    await pg.waitReady;
    await pg.query(`select set_config('statement_timeout', $1, false)`, [String(options.statementTimeoutMs)]);
    return new PgliteDatabase(pg, options);
  }

  private queryable(): Queryable {
    return {
      query: async <T extends object>(text: string, params: readonly SqlParam[] = []) =>
        (await this.pg.query<T>(text, params as unknown[])).rows,
    };
  }

  private async transaction<T>(setup: ((tx: Queryable) => Promise<void>) | undefined, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      this.inUse++;
      try {
        await this.pg.query('begin');
        try {
          const tx = this.queryable();
          if (setup) await setup(tx);
          const result = await fn(tx);
          await this.pg.query('commit');
          return result;
        } catch (error) {
          await this.pg.query('rollback').catch(() => undefined);
          throw error;
        }
      } finally {
        this.inUse--;
      }
    });
  }

  async withTenant<T>(scope: TenantScope, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const params = scopeParams(scope);
    return this.transaction(async (tx) => {
      await tx.query(SET_TENANT_SCOPE_SQL, params);
    }, fn);
  }

  tenantQuery<T extends object = Row>(scope: TenantScope, text: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.withTenant(scope, (tx) => tx.query<T>(text, params));
  }

  operator<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.options.onOperator?.(action);
    return this.transaction(undefined, fn);
  }

  /** Runs fn while no other work may use the session (migrations drive `pg` directly inside it). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  async ping(): Promise<void> {
    await this.mutex.run(() => this.pg.query('select 1'));
  }

  poolStats(): PoolStats {
    return { max: 1, inUse: this.inUse, waiting: this.mutex.waiting };
  }

  async dump(): Promise<Blob | File> {
    return this.mutex.run(() => this.pg.dumpDataDir('none'));
  }

  async close(): Promise<void> {
    await this.mutex.run(() => this.pg.close());
  }
}
