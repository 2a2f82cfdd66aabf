import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { Database } from './database.js';
import { DEFAULT_MAINTENANCE_INTERVAL_MS } from './maintenance-schedule.js';

export interface OpenOptions {
  onOperator?: (action: string) => void;
  /** A one-off fact about how the database is kept (e.g. ggscale analyzing where autovacuum is off). */
  onMaintenance?: (message: string) => void;
}

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else PGlite in the data folder. */
export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<Database> {
  if (config.databaseUrl) {
    const { PostgresDatabase } = await import('./postgres.js');
    return PostgresDatabase.open({
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
