/** The migrator runs on the owner's postgres.js connection: it must reach the server over TLS, from the same URL. */
import assert from 'node:assert/strict';
import type { Sql } from 'postgres';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import type { Database } from '../../src/internal/db/database.js';
import { migrationsDir } from '../../src/internal/paths.js';

/** Migrates `db` and checks the owner connection that did it is encrypted; closes `db`. */
export async function assertMigratesOverTls(db: Database & { ownerSql: Sql }): Promise<void> {
  try {
    await migrateUp(db, await loadMigrations(migrationsDir));
    const [migrated] = await db.ownerSql<{ ssl: boolean; applied: string }[]>`select (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl, count(*)::text as applied from schema_migrations`;
    assert.equal(migrated!.ssl, true);
    assert.ok(Number(migrated!.applied) > 0);
  } finally {
    await db.close();
  }
}
