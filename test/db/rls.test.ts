/**
 * Row-level security, driven by the catalog: every table with a tenant_id column must have RLS enabled and
 * forced with a policy, and as ggscale_app no other tenant's (or other project's) rows can be read,
 * changed, deleted or forged. Runs on PGlite always and on PostgreSQL when DATABASE_URL is set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { fixtures, seedTenant, type Scope } from '../support/fixtures/index.js';
import { PgliteDatabase } from '../../src/internal/db/pglite.js';
import type { Queryable } from '../../src/internal/db/database.js';

interface TenantTable {
  name: string;
  rls: boolean;
  forced: boolean;
  policies: string[];
  hasProjectId: boolean;
}

async function tenantTables(tx: Queryable): Promise<TenantTable[]> {
  const rows = await tx.query<{ name: string; rls: boolean; forced: boolean; policies: string[] | null; has_project_id: boolean }>(`
    select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
           (select array_agg(pg_get_expr(p.polqual, p.polrelid) || ' | ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''))
              from pg_policy p where p.polrelid = c.oid) as policies,
           exists (select 1 from pg_attribute a2 where a2.attrelid = c.oid and a2.attname = 'project_id' and not a2.attisdropped) as has_project_id
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
     where c.relkind in ('r', 'p')
     order by c.relname`);
  return rows.map((r) => ({ name: r.name, rls: r.rls, forced: r.forced, policies: r.policies ?? [], hasProjectId: r.has_project_id }));
}

const keyMatch = (key: string[], offset = 0) => key.map((column, i) => `${column} = $${i + 1 + offset}`).join(' and ');

/** Runs statements as ggscale_app with NO tenant set, after an earlier transaction in the same session set one. */
async function asAppWithoutTenant(test: TestDatabase, fn: (tx: Queryable) => Promise<void>): Promise<void> {
  const setEarlier = "select set_config('app.tenant_id', '1', true), set_config('app.project_id', '1', true)";
  const switchRole = "select set_config('role', 'ggscale_app', true)";
  if (test.db instanceof PgliteDatabase) {
    const pg = test.db.pg;
    await test.db.exclusive(async () => {
      await pg.transaction(async (t) => {
        await t.query(setEarlier);
      });
      // Checks never need to keep anything: always roll back (a refused statement aborts the transaction).
      await pg.query('begin');
      try {
        await pg.query(switchRole);
        await fn({ query: async (text, params) => (await pg.query<never>(text, params)).rows });
      } finally {
        await pg.query('rollback');
      }
    });
    return;
  }
  const sql = postgres(test.url!, { max: 1, onnotice: () => undefined });
  try {
    await sql.begin(async (t) => {
      await t.unsafe(setEarlier);
    });
    const t = await sql.reserve();
    try {
      await t.unsafe('begin');
      await t.unsafe(switchRole);
      await fn({ query: async <T>(text: string, params?: readonly unknown[]) => Array.from(await t.unsafe(text, (params ?? []) as never[])) as T[] });
    } finally {
      await t.unsafe('rollback');
      t.release();
    }
  } finally {
    await sql.end();
  }
}

async function count(tx: Queryable, text: string, params: string[]): Promise<number> {
  const [row] = await tx.query<{ n: string | number }>(`select count(*) as n from (${text}) as touched`, params);
  return Number(row!.n);
}

/** Either refused outright (42501: no privilege, or the policy's WITH CHECK) or an error we did not expect. */
async function assertRefused(run: () => Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(run, (error: { code?: string }) => error.code === '42501', `${what} must be refused`);
}

async function assertTouchesNothing(tx: Queryable, op: 'update' | 'delete', table: string, key: string[], keyValues: string[]): Promise<void> {
  const statement =
    op === 'update'
      ? `with t as (update ${table} set tenant_id = tenant_id where ${keyMatch(key)} returning 1) select count(*) as n from t`
      : `with t as (delete from ${table} where ${keyMatch(key)} returning 1) select count(*) as n from t`;
  try {
    const [row] = await tx.query<{ n: string | number }>(statement, keyValues);
    assert.equal(Number(row!.n), 0, `${op} of ${table} touched another scope's row`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error; // no privilege at all is fine too
  }
}

for (const kind of databaseKinds()) {
  describe(`row-level security (${kind.name})`, () => {
    let test: TestDatabase;
    let tables: TenantTable[];
    let a: { tenantId: string; projects: [string, string] };
    let b: { tenantId: string; projects: [string, string] };
    const rows = new Map<string, string[]>(); // table → key values of tenant A / project one's row

    before(async () => {
      test = await kind.create();
      tables = await test.db.operator('test', tenantTables);
      ({ a, b } = await test.db.operator('test seed', async (tx) => ({ a: await seedTenant(tx, 'tenant-a'), b: await seedTenant(tx, 'tenant-b') })));
      const scopeA: Scope = { tenantId: a.tenantId, projectId: a.projects[0] };
      for (const table of tables) {
        const fixture = fixtures[table.name];
        if (!fixture) continue;
        if (fixture.existing) {
          rows.set(table.name, fixture.existing(scopeA));
          continue;
        }
        const { text, params } = fixture.insert(scopeA, 'rls');
        const [row] = await test.db.operator('test seed', (tx) => tx.query<Record<string, string>>(text, params));
        rows.set(table.name, fixture.key.map((column) => String(row![column])));
      }
    });
    after(async () => test?.drop());

    it('finds the tenant tables in the catalog', () => {
      assert.ok(tables.some((t) => t.name === 'projects'), 'projects is a tenant table');
    });

    it('has a fixture for every tenant table (a new table cannot slip past this suite)', () => {
      for (const table of tables) assert.ok(fixtures[table.name], `add a fixture for ${table.name} in test/support/fixtures/`);
    });

    it('enables and forces RLS with a fail-closed policy on every tenant table', () => {
      for (const table of tables) {
        assert.ok(table.rls, `${table.name}: RLS enabled`);
        assert.ok(table.forced, `${table.name}: RLS forced`);
        assert.ok(table.policies.length > 0, `${table.name}: has a policy`);
        for (const policy of table.policies) {
          assert.match(policy, /nullif\(current_setting\('app\.tenant_id'::text, true\), ''::text\)/i, `${table.name}: policy uses nullif on app.tenant_id`);
          const [using, check] = policy.split(' | ');
          assert.ok(check && check.length > 0, `${table.name}: policy has WITH CHECK`);
          assert.match(using!, /app\.tenant_id/);
          if (table.hasProjectId || fixtures[table.name]?.projectColumn) {
            assert.match(using!, /app\.project_id/, `${table.name}: project table policy checks app.project_id`);
            assert.match(check, /app\.project_id/, `${table.name}: project table WITH CHECK checks app.project_id`);
          }
        }
      }
    });

    it('the runtime role is not superuser, not BYPASSRLS and owns no table', async () => {
      const [role] = await test.db.operator('test', (tx) =>
        tx.query<{ rolsuper: boolean; rolbypassrls: boolean; owns: string | number }>(
          `select r.rolsuper, r.rolbypassrls,
                  (select count(*) from pg_class c where c.relowner = r.oid and c.relnamespace = 'public'::regnamespace) as owns
             from pg_roles r where r.rolname = 'ggscale_app'`,
        ),
      );
      assert.deepEqual([role!.rolsuper, role!.rolbypassrls, Number(role!.owns)], [false, false, 0]);
    });

    it('with no tenant set: every tenant table reads as empty, without an error, even after an earlier set_config', async () => {
      await asAppWithoutTenant(test, async (tx) => {
        for (const table of tables) {
          assert.equal(await count(tx, `select 1 from ${table.name}`, []), 0, `${table.name} leaked rows with no tenant set`);
        }
      });
    });

    it('with no tenant set: updates and deletes touch nothing, inserts are refused', async () => {
      const scopeA: Scope = { tenantId: a.tenantId, projectId: a.projects[0] };
      for (const table of tables) {
        const fixture = fixtures[table.name]!;
        const keyValues = rows.get(table.name)!;
        await asAppWithoutTenant(test, (tx) => assertTouchesNothing(tx, 'update', table.name, fixture.key, keyValues));
        await asAppWithoutTenant(test, (tx) => assertTouchesNothing(tx, 'delete', table.name, fixture.key, keyValues));
        const forged = fixture.insert(scopeA, 'no-tenant');
        await assertRefused(() => asAppWithoutTenant(test, async (tx) => void (await tx.query(forged.text, forged.params))), `${table.name}: insert with no tenant set`);
      }
    });

    it('another tenant cannot select, update, delete or forge rows', async () => {
      const scopeB = { tenantId: b.tenantId, projectId: b.projects[0] };
      const scopeA = { tenantId: a.tenantId, projectId: a.projects[0] };
      for (const table of tables) {
        const fixture = fixtures[table.name]!;
        const keyValues = rows.get(table.name)!;
        await test.db.withTenant(scopeB, async (tx) => {
          assert.equal(await count(tx, `select 1 from ${table.name} where ${keyMatch(fixture.key)}`, keyValues), 0, `${table.name}: read across tenants`);
          assert.equal(await count(tx, `select 1 from ${table.name} where tenant_id = $1`, [a.tenantId]), 0, `${table.name}: scan across tenants`);
        });
        await test.db.withTenant(scopeB, (tx) => assertTouchesNothing(tx, 'update', table.name, fixture.key, keyValues));
        await test.db.withTenant(scopeB, (tx) => assertTouchesNothing(tx, 'delete', table.name, fixture.key, keyValues));
        const forged = fixture.insert(scopeA, 'forged');
        await assertRefused(() => test.db.withTenant(scopeB, (tx) => tx.query(forged.text, forged.params)), `${table.name}: insert of another tenant's row`);
        const [still] = await test.db.operator('test', (tx) => tx.query(`select 1 as ok from ${table.name} where ${keyMatch(fixture.key)}`, keyValues));
        assert.ok(still, `${table.name}: tenant A's row survives`);
      }
    });

    it('another project of the same tenant cannot select, update, delete or forge project rows', async () => {
      const sibling = { tenantId: a.tenantId, projectId: a.projects[1] };
      const own = { tenantId: a.tenantId, projectId: a.projects[0] };
      for (const table of tables) {
        const fixture = fixtures[table.name]!;
        if (!table.hasProjectId && !fixture.projectColumn) continue;
        const keyValues = rows.get(table.name)!;
        await test.db.withTenant(sibling, async (tx) => {
          assert.equal(await count(tx, `select 1 from ${table.name} where ${keyMatch(fixture.key)}`, keyValues), 0, `${table.name}: read across projects`);
        });
        await test.db.withTenant(sibling, (tx) => assertTouchesNothing(tx, 'update', table.name, fixture.key, keyValues));
        await test.db.withTenant(sibling, (tx) => assertTouchesNothing(tx, 'delete', table.name, fixture.key, keyValues));
        const forged = fixture.insert(own, 'forged-p');
        await assertRefused(() => test.db.withTenant(sibling, (tx) => tx.query(forged.text, forged.params)), `${table.name}: insert into a sibling project`);
      }
    });

    it('with the tenant but no project set: project rows read as empty, updates and deletes touch nothing, inserts are refused', async () => {
      const tenantOnly = { tenantId: a.tenantId };
      const own: Scope = { tenantId: a.tenantId, projectId: a.projects[0] };
      for (const table of tables) {
        const fixture = fixtures[table.name]!;
        if (!table.hasProjectId && !fixture.projectColumn) continue;
        const keyValues = rows.get(table.name)!;
        await test.db.withTenant(tenantOnly, async (tx) => {
          assert.equal(await count(tx, `select 1 from ${table.name}`, []), 0, `${table.name}: rows visible with no project set`);
        });
        await test.db.withTenant(tenantOnly, (tx) => assertTouchesNothing(tx, 'update', table.name, fixture.key, keyValues));
        await test.db.withTenant(tenantOnly, (tx) => assertTouchesNothing(tx, 'delete', table.name, fixture.key, keyValues));
        const forged = fixture.insert(own, 'no-project');
        await assertRefused(() => test.db.withTenant(tenantOnly, (tx) => tx.query(forged.text, forged.params)), `${table.name}: insert with no project set`);
      }
    });

    it('the owning scope cannot move its own rows to another tenant or project (an UPDATE is checked like an INSERT)', async () => {
      const own = { tenantId: a.tenantId, projectId: a.projects[0] };
      for (const table of tables) {
        const fixture = fixtures[table.name]!;
        const keyValues = rows.get(table.name)!;
        const projectColumn = table.hasProjectId ? 'project_id' : undefined; // projects.id is an identity: it cannot be set
        const moves: Array<[string, string[]]> = [[`tenant_id = $${fixture.key.length + 1}`, [b.tenantId]]];
        if (projectColumn) {
          moves.push([`${projectColumn} = $${fixture.key.length + 1}`, [a.projects[1]]]);
          moves.push([`tenant_id = $${fixture.key.length + 1}, ${projectColumn} = $${fixture.key.length + 2}`, [b.tenantId, b.projects[0]]]);
        }
        for (const [assignment, values] of moves) {
          await assertRefused(
            () => test.db.withTenant(own, (tx) => tx.query(`update ${table.name} set ${assignment} where ${keyMatch(fixture.key)}`, [...keyValues, ...values])),
            `${table.name}: update set ${assignment} (${values.join(', ')})`,
          );
        }
        const [still] = await test.db.operator('test', (tx) =>
          tx.query<{ tenant_id: string; project_id: string | null }>(
            `select tenant_id::text as tenant_id, ${table.hasProjectId ? 'project_id::text' : 'null'} as project_id from ${table.name} where ${keyMatch(fixture.key)}`,
            keyValues,
          ),
        );
        assert.equal(still?.tenant_id, a.tenantId, `${table.name}: the row stayed in its tenant`);
        if (table.hasProjectId) assert.equal(still?.project_id, a.projects[0], `${table.name}: the row stayed in its project`);
      }
    });

    it('the owning scope does see its own rows (the suite can fail)', async () => {
      for (const table of tables) {
        const fixture = fixtures[table.name]!;
        const keyValues = rows.get(table.name)!;
        const n = await test.db.withTenant({ tenantId: a.tenantId, projectId: a.projects[0] }, (tx) =>
          count(tx, `select 1 from ${table.name} where ${keyMatch(fixture.key)}`, keyValues),
        );
        assert.equal(n, 1, `${table.name}: owner sees its row`);
      }
    });

    it('tenants is not readable by the runtime role at all', async () => {
      await assertRefused(() => test.db.withTenant({ tenantId: a.tenantId }, (tx) => tx.query('select * from tenants')), 'select from tenants');
    });
  });
}
