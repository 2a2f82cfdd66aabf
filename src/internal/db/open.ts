import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import type { CoreConfig, DatabaseDriver } from '../config/core.js';
import type { Database } from './database.js';
import { DEFAULT_MAINTENANCE_INTERVAL_MS } from './maintenance-schedule.js';
import type { PostgresJsOptions } from './postgres-js.js';

export interface OpenOptions {
  onOperator?: (action: string) => void;
  /** A one-off fact about how the database is kept (e.g. ggscale analyzing where autovacuum is off). */
  onMaintenance?: (message: string) => void;
}

/** What both PostgreSQL drivers offer besides the Database contract. */
export interface PostgresDriverDatabase extends Database {
  /** The owner connection (postgres.js), for the migrator. */
  readonly ownerSql: Sql;
  /** Analyzes the tables whose planner statistics are stale. */
  refreshStatistics(): Promise<void>;
}

/**
 * Real PostgreSQL through the chosen client: `wire`, our own (postgres.ts), or `postgres.js` (postgres-js.ts).
 * Options the wire driver does not take (maxWaiting, acquireTimeoutMs) only reach postgres.js.
 */
export async function openPostgres(driver: DatabaseDriver, options: PostgresJsOptions): Promise<PostgresDriverDatabase> {
  if (driver === 'postgres.js') {
    const { PostgresJsDatabase } = await import('./postgres-js.js');
    return PostgresJsDatabase.open(options);
  }
  const { PostgresDatabase } = await import('./postgres.js');
  return PostgresDatabase.open(options);
}

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else PGlite in the data folder. */
export async function openDatabase(config: CoreConfig, options: OpenOptions = {}): Promise<Database> {
  if (config.databaseUrl) {
    return openPostgres(config.databaseDriver, {
      url: config.databaseUrl,
      ...(config.databaseMigrationUrl ? { operatorUrl: config.databaseMigrationUrl } : {}),
      poolSize: config.dbPoolSize,
      statementTimeoutMs: config.statementTimeoutMs,
      maintenanceIntervalMs: DEFAULT_MAINTENANCE_INTERVAL_MS,
      ...options,
    });
  }
  const { PgliteDatabase } = await import('./pglite.js');
  const dataDir = join(config.dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true });
  return PgliteDatabase.open({ dataDir, statementTimeoutMs: config.statementTimeoutMs, ...options });
}
