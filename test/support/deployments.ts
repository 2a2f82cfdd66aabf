/**
 * Databases of deployments of their own. The suites' usual databases are copies of one migrated template
 * (test/support/db.ts), so they are all restores of one deployment and share its namespace; these are
 * migrated from nothing, as a new deployment's database is.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Database } from '../../src/internal/db/database.js';
import { PgliteDatabase } from '../../src/internal/db/pglite.js';
import { PostgresDatabase } from '../../src/internal/db/postgres.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import type { TestDatabase } from './db.js';

const STATEMENT_TIMEOUT_MS = 10_000;

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + name;
  return parsed.toString();
}

/** Runs statements on the PostgreSQL server of DATABASE_URL outside any test database (create, drop). */
export async function onServer(statements: string[]): Promise<void> {
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => undefined });
  try {
    for (const statement of statements) await admin.unsafe(statement);
  } finally {
    await admin.end();
  }
}

/** A PostgreSQL database named `name` on DATABASE_URL's server, opened, with a drop() that removes it. */
export async function openPostgres(name: string): Promise<TestDatabase> {
  const url = withDatabase(process.env.DATABASE_URL!, name);
  const db = await PostgresDatabase.open({ url, poolSize: 4, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  return {
    db,
    url,
    drop: async () => {
      await db.close();
      await onServer([`drop database if exists "${name}" with (force)`]);
    },
  };
}

/** A new deployment's database: created empty and migrated (PGlite: a fresh initdb, about 2 s). */
export async function freshDatabase(kind: 'pglite' | 'postgres'): Promise<TestDatabase> {
  const migrations = await loadMigrations(migrationsDir);
  if (kind === 'pglite') {
    const db = await PgliteDatabase.open({ statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    await migrateUp(db, migrations);
    return { db, drop: () => db.close() };
  }
  const name = `ggscale_t_${randomBytes(6).toString('hex')}`;
  await onServer([`create database "${name}"`]);
  const opened = await openPostgres(name);
  await migrateUp(opened.db, migrations);
  return opened;
}

/** The deployment namespace as the database holds it (plain SQL: what the server reads must be there). */
export async function namespaceOf(db: Database): Promise<string> {
  const rows = await db.operator('test: deployment namespace', (tx) => tx.query<{ namespace: string }>('select namespace from deployment'));
  if (rows.length !== 1) throw new Error(`the deployment table holds ${rows.length} rows`);
  return rows[0]!.namespace;
}
