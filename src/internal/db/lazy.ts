/**
 * The server listens before the database is open (opening PGlite takes ~0.3 s, creating it ~2 s), so
 * services hold this stand-in: until the real database is attached every call is a 503 with Retry-After.
 */
import { unavailable } from '../errors/app-error.js';
import type { Database, PoolStats, Queryable, Row, SqlParam, TenantScope } from './database.js';

export class LazyDatabase implements Database {
  private target: Database | undefined;

  get kind(): Database['kind'] {
    return this.current().kind;
  }

  attach(db: Database): void {
    this.target = db;
  }

  private current(): Database {
    if (!this.target) throw unavailable('The database is starting.', 1);
    return this.target;
  }

  withTenant<T>(scope: TenantScope, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.current().withTenant(scope, fn);
  }

  tenantQuery<T extends object = Row>(scope: TenantScope, text: string, params?: readonly SqlParam[]): Promise<T[]> {
    return this.current().tenantQuery<T>(scope, text, params);
  }

  operator<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.current().operator(action, fn);
  }

  ping(): Promise<void> {
    return this.current().ping();
  }

  poolStats(): PoolStats {
    return this.target?.poolStats() ?? { max: 0, inUse: 0, waiting: 0 };
  }

  async close(): Promise<void> {
    await this.target?.close();
    this.target = undefined;
  }
}
