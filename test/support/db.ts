/**
 * Test databases. PGlite always; real PostgreSQL too when DATABASE_URL is set (as CI sets it), through the
 * client DATABASE_DRIVER names (`wire`, the default, or `postgres.js`; scripts/test.mjs runs the PostgreSQL
 * suites once more on the other one). GGSCALE_TEST_DATABASE_KINDS (comma-separated: pglite, postgres) narrows
 * databaseKinds() (that second run skips PGlite, which the first already covered).
 * scripts/test.mjs migrates one template per run (a PGlite dump file and a PostgreSQL template database)
 * so each test file gets a fresh, migrated copy in well under a second instead of re-running initdb.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import type { Database } from '../../src/internal/db/database.js';
import { PgliteDatabase, type PgliteOptions } from '../../src/internal/db/pglite.js';
import type { DatabaseDriver } from '../../src/internal/config/core.js';
import { openPostgres, type PostgresDriverDatabase } from '../../src/internal/db/open.js';
import type { PostgresJsOptions } from '../../src/internal/db/postgres-js.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';

export interface TestDatabase {
  db: Database;
  /** For postgres: the URL of this copy (to start server processes against it). */
  url?: string;
  drop(): Promise<void>;
}

export interface TestDatabaseKind {
  name: 'pglite' | 'postgres';
  create(): Promise<TestDatabase>;
}

const STATEMENT_TIMEOUT_MS = 10_000;

export const POSTGRES_DRIVERS: readonly DatabaseDriver[] = ['wire', 'postgres.js'];

/** The PostgreSQL client the suites run on: DATABASE_DRIVER, as the server reads it. */
export function testDriver(): DatabaseDriver {
  const named = process.env.DATABASE_DRIVER?.trim() || 'wire';
  if (!(POSTGRES_DRIVERS as readonly string[]).includes(named)) throw new Error(`DATABASE_DRIVER: must be one of ${POSTGRES_DRIVERS.join(', ')}, got "${named}"`);
  return named as DatabaseDriver;
}

/** A PostgreSQL database opened through the chosen client (testDriver() unless named). */
export function openTestPostgres(options: PostgresJsOptions, driver: DatabaseDriver = testDriver()): Promise<PostgresDriverDatabase> {
  return openPostgres(driver, options);
}

/** `options`: extra driver options (e.g. a short maintenanceIntervalMs). */
export async function createPglite(options: Partial<PgliteOptions> = {}): Promise<TestDatabase> {
  const template = process.env.GGSCALE_TEST_PGLITE_TEMPLATE;
  const db = template
    ? await PgliteDatabase.open({ loadDataDir: new Blob([await readFile(template)]), statementTimeoutMs: STATEMENT_TIMEOUT_MS, ...options })
    : await PgliteDatabase.open({ statementTimeoutMs: STATEMENT_TIMEOUT_MS, ...options });
  // Not given a namespace of its own (see ownDeployment): the update left the embedded database's first
  // maintenance pass without fresh planner statistics (test/auth/refresh-lookup.test.ts), and PGlite suites
  // rarely share Redis with each other.
  if (!template) await migrateUp(db, await loadMigrations(migrationsDir));
  return { db, drop: () => db.close() };
}

/**
 * Gives a copy of the template a deployment namespace of its own. Every copy starts with the same ids (tenant
 * 1, project 1, …), so copies sharing one namespace on the shared Redis would be one deployment: suites running
 * side by side would hear each other's realtime events and share resume tokens, presence and limits.
 */
async function ownDeployment(db: Database): Promise<void> {
  const namespace = randomBytes(8).toString('hex');
  await db.operator('test: own deployment namespace', (tx) => tx.query('update deployment set namespace = $1', [namespace]));
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + name;
  return parsed.toString();
}

export async function createPostgres(baseUrl: string, driver: DatabaseDriver = testDriver()): Promise<TestDatabase> {
  const name = `ggscale_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => undefined });
  const template = process.env.GGSCALE_TEST_PG_TEMPLATE;
  try {
    // Copies from one template can collide for a moment; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(template ? `create database "${name}" template "${template}"` : `create database "${name}"`);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(baseUrl, name);
  const db = await openTestPostgres({ url, poolSize: 8, statementTimeoutMs: STATEMENT_TIMEOUT_MS }, driver);
  if (!template) await migrateUp(db, await loadMigrations(migrationsDir));
  else await ownDeployment(db);
  return {
    db,
    url,
    drop: async () => {
      await db.close();
      const cleanup = postgres(baseUrl, { max: 1, onnotice: () => undefined });
      try {
        await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** The databases every integration suite runs against. */
export function databaseKinds(): TestDatabaseKind[] {
  const kinds: TestDatabaseKind[] = [{ name: 'pglite', create: createPglite }];
  const url = process.env.DATABASE_URL;
  if (url) kinds.push({ name: 'postgres', create: () => createPostgres(url) });
  const only = process.env.GGSCALE_TEST_DATABASE_KINDS?.split(',').map((name) => name.trim());
  return only ? kinds.filter((kind) => only.includes(kind.name)) : kinds;
}
