/**
 * Numbered SQL migrations (migrations/NNNN_name.up.sql / .down.sql), applied in order, each in its own
 * transaction, recorded in schema_migrations. Two migrators at once are safe: on PostgreSQL they take an
 * advisory lock; PGlite has one process per data folder (lock file) and one session (mutex).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from './database.js';
import { sqlState } from './errors.js';
import { PgliteDatabase } from './pglite.js';
import { PostgresDatabase } from './postgres.js';
import { PostgresJsDatabase } from './postgres-js.js';

export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;
// An arbitrary constant shared by every ggscale migrator.
const ADVISORY_LOCK_KEY = 7_236_410_981;

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const byVersion = new Map<number, Partial<Migration> & { version: number; name: string }>();
  for (const file of (await readdir(dir)).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (!match) continue;
    const version = Number(match[1]);
    const entry = byVersion.get(version) ?? { version, name: match[2]! };
    if (entry.name !== match[2]) throw new Error(`migrations: two names for version ${version}`);
    entry[match[3] as 'up' | 'down'] = await readFile(join(dir, file), 'utf8');
    byVersion.set(version, entry);
  }
  const migrations = [...byVersion.values()].sort((a, b) => a.version - b.version);
  for (const m of migrations) {
    if (m.up === undefined || m.down === undefined) throw new Error(`migrations: ${m.version}_${m.name} needs .up.sql and .down.sql`);
  }
  return migrations as Migration[];
}

/** What a migrator needs from a session that holds the migration lock. */
interface MigrationSession {
  query(text: string, params?: (string | number)[]): Promise<Record<string, unknown>[]>;
  /** Runs a script (several statements) in one transaction together with the bookkeeping statement. */
  runInTransaction(script: string, bookkeeping: { text: string; params: (string | number)[] }): Promise<void>;
}

async function withMigrationSession<T>(db: Database, fn: (session: MigrationSession) => Promise<T>): Promise<T> {
  if (db instanceof PgliteDatabase) {
    return fn({
      query: async (text, params) => (await db.pg.query<Record<string, unknown>>(text, params)).rows,
      runInTransaction: async (script, bookkeeping) => {
        await db.pg.transaction(async (tx) => {
          await tx.exec(script);
          await tx.query(bookkeeping.text, bookkeeping.params);
        });
      },
    });
  }
  // Both PostgreSQL drivers migrate through the owner's postgres.js connection.
  if (db instanceof PostgresDatabase || db instanceof PostgresJsDatabase) {
    const conn = await db.ownerSql.reserve();
    try {
      await conn.unsafe('select pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
      try {
        return await fn({
          query: (text, params) => conn.unsafe(text, params ?? []),
          runInTransaction: async (script, bookkeeping) => {
            await conn.unsafe('begin');
            try {
              await conn.unsafe(script);
              await conn.unsafe(bookkeeping.text, bookkeeping.params);
              await conn.unsafe('commit');
            } catch (error) {
              await conn.unsafe('rollback').catch(() => undefined);
              throw error;
            }
          },
        });
      } finally {
        await conn.unsafe('select pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      conn.release();
    }
  }
  throw new Error('migrations: unknown database driver');
}

const CREATE_TABLE = `create table if not exists schema_migrations (
  version integer primary key, name text not null, applied_at timestamptz not null default now())`;

async function appliedVersions(session: MigrationSession): Promise<Set<number>> {
  await session.query(CREATE_TABLE);
  const rows = await session.query('select version from schema_migrations');
  return new Set(rows.map((row) => Number(row.version)));
}

export async function migrateUp(db: Database, migrations: Migration[]): Promise<string[]> {
  const run = () =>
    withMigrationSession(db, async (session) => {
      const applied = await appliedVersions(session);
      const done: string[] = [];
      for (const m of migrations) {
        if (applied.has(m.version)) continue;
        await session.runInTransaction(m.up, {
          text: 'insert into schema_migrations (version, name) values ($1, $2)',
          params: [m.version, m.name],
        });
        done.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
      }
      return done;
    });
  return db instanceof PgliteDatabase ? db.exclusive(run) : run();
}

/** Rolls back the newest `steps` applied migrations. */
export async function migrateDown(db: Database, migrations: Migration[], steps = 1): Promise<string[]> {
  const run = () =>
    withMigrationSession(db, async (session) => {
      const applied = await appliedVersions(session);
      const targets = migrations.filter((m) => applied.has(m.version)).reverse().slice(0, steps);
      for (const m of targets) {
        await session.runInTransaction(m.down, { text: 'delete from schema_migrations where version = $1', params: [m.version] });
      }
      return targets.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
    });
  return db instanceof PgliteDatabase ? db.exclusive(run) : run();
}

/** True when every known migration is recorded as applied. */
export async function isMigrated(db: Database, migrations: Migration[]): Promise<boolean> {
  const latest = migrations.at(-1)?.version ?? 0;
  const rows = await db.operator('readiness', (tx) =>
    tx.query<{ version: number | null }>(
      `select (select max(version) from schema_migrations) as version
        where to_regclass('schema_migrations') is not null`,
    ),
  ).catch((error: unknown) => {
    // No migrations table yet (the statement names it, so it fails to parse rather than returning no row).
    // Anything else (a database that is down, a passed deadline) is not "pending": readiness reports it as such.
    if (sqlState(error) === '42P01') return [];
    throw error;
  });
  return Number(rows[0]?.version ?? 0) >= latest;
}
