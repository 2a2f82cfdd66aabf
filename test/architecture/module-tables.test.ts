/**
 * Every table the migrations create belongs to exactly one module (or to the app itself), so a module's
 * `tables` says truthfully what it owns: later suites (erasure, the RLS catalog) start from these lists.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { coreTables, modules } from '../../src/app/registry.js';
import { createPglite, type TestDatabase } from '../support/db.js';

let database: TestDatabase;
before(async () => {
  database = await createPglite();
});
after(async () => {
  await database.drop();
});

it('every migrated table is claimed by exactly one module or the app, and every claim exists', async () => {
  const rows = await database.db.operator('test.catalog', (tx) =>
    tx.query<{ name: string }>(`select tablename as name from pg_tables where schemaname = 'public' order by 1`),
  );
  const migrated = rows.map((row) => row.name);
  assert.ok(migrated.length > 10, `only ${migrated.length} tables migrated`);

  const owners = new Map<string, string[]>();
  const claim = (table: string, owner: string) => owners.set(table, [...(owners.get(table) ?? []), owner]);
  for (const table of coreTables) claim(table, 'app');
  for (const module of modules) for (const table of module.tables) claim(table, module.name);

  const unclaimed = migrated.filter((table) => !owners.has(table));
  const twice = [...owners].filter(([, by]) => by.length > 1).map(([table, by]) => `${table}: ${by.join(', ')}`);
  const missing = [...owners.keys()].filter((table) => !migrated.includes(table));
  assert.deepEqual({ unclaimed, twice, missing }, { unclaimed: [], twice: [], missing: [] });
});
