/** Migrations: in order, recorded, reversible, and safe under two concurrent migrators. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { PgliteDatabase } from '../../src/internal/db/pglite.js';
import { isMigrated, loadMigrations, migrateDown, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { LazyDatabase } from '../../src/internal/db/lazy.js';
import { openTestPostgres } from '../support/db.js';

describe('migrations', () => {
  it('every migration has an up and a down file, numbered without gaps', async () => {
    const migrations = await loadMigrations(migrationsDir);
    assert.ok(migrations.length >= 2);
    migrations.forEach((m, i) => assert.equal(m.version, i + 1));
  });

  it('apply, report, roll back and re-apply on PGlite', async () => {
    const migrations = await loadMigrations(migrationsDir);
    const db = await PgliteDatabase.open({ statementTimeoutMs: 10_000 });
    try {
      assert.equal(await isMigrated(db, migrations), false);
      assert.equal((await migrateUp(db, migrations)).length, migrations.length);
      assert.equal(await isMigrated(db, migrations), true);
      assert.deepEqual(await migrateUp(db, migrations), [], 'a second run applies nothing');
      const reverted = await migrateDown(db, migrations, migrations.length);
      assert.equal(reverted.length, migrations.length);
      const [left] = await db.operator('test', (tx) => tx.query<{ n: number }>("select count(*)::int as n from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations'"));
      assert.equal(left!.n, 0, 'down migrations remove every table');
      assert.equal((await migrateUp(db, migrations)).length, migrations.length);
    } finally {
      await db.close();
    }
  });

  it('a database that cannot answer is an error, not "migrations pending" (readiness reports it as unavailable)', async () => {
    const migrations = await loadMigrations(migrationsDir);
    await assert.rejects(isMigrated(new LazyDatabase(), migrations), (error: { status?: number }) => error.status === 503);
  });

  it('two concurrent migrators on PostgreSQL apply each migration once', { skip: process.env.DATABASE_URL ? false : 'DATABASE_URL not set' }, async () => {
    const base = process.env.DATABASE_URL!;
    const name = `ggscale_mig_${randomBytes(5).toString('hex')}`;
    const admin = postgres(base, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const migrations = await loadMigrations(migrationsDir);
    const one = await openTestPostgres({ url: url.toString(), poolSize: 2, statementTimeoutMs: 10_000 });
    const two = await openTestPostgres({ url: url.toString(), poolSize: 2, statementTimeoutMs: 10_000 });
    try {
      const [a, b] = await Promise.all([migrateUp(one, migrations), migrateUp(two, migrations)]);
      assert.equal(a.length + b.length, migrations.length, 'each migration applied by exactly one migrator');
      const rows = await one.operator('test', (tx) => tx.query<{ version: number }>('select version from schema_migrations order by version'));
      assert.deepEqual(rows.map((r) => r.version), migrations.map((m) => m.version));
    } finally {
      await one.close();
      await two.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });
});
