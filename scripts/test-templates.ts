// Creates the migrated templates for a test run and prints their locations as JSON (see scripts/test.mjs).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import postgres from 'postgres';
import { PgliteDatabase } from '../src/internal/db/pglite.js';
import { PostgresDatabase } from '../src/internal/db/postgres.js';
import { loadMigrations, migrateUp } from '../src/internal/db/migrate.js';
import { migrationsDir } from '../src/internal/paths.js';

const baseUrl = process.env.DATABASE_URL;

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + name;
  return parsed.toString();
}

if (process.argv[2] === '--drop') {
  const name = process.argv[3];
  if (baseUrl && name) {
    const admin = postgres(baseUrl, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
} else {
  const scratch = process.argv[2]!;
  const migrations = await loadMigrations(migrationsDir);
  const out: Record<string, string> = {};

  const pglite = await PgliteDatabase.open({ statementTimeoutMs: 10_000 });
  await migrateUp(pglite, migrations);
  const dumpPath = join(scratch, 'pglite-template.tar');
  await writeFile(dumpPath, Buffer.from(await (await pglite.dump()).arrayBuffer()));
  await pglite.close();
  out.GGSCALE_TEST_PGLITE_TEMPLATE = dumpPath;

  if (baseUrl) {
    const name = `ggscale_tpl_${process.pid}_${Date.now()}`;
    const admin = postgres(baseUrl, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database "${name}"`);
    await admin.end();
    const db = await PostgresDatabase.open({ url: withDatabase(baseUrl, name), poolSize: 2, statementTimeoutMs: 10_000 });
    await migrateUp(db, migrations);
    await db.close();
    out.GGSCALE_TEST_PG_TEMPLATE = name;
  }
  process.stdout.write(JSON.stringify(out));
}
