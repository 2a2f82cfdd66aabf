/**
 * The embedded database is one session: a database call made from inside a transaction (not through its
 * `tx`) would queue behind the transaction that is waiting for it, and the whole server would stop answering.
 * Such a call is refused at once (NESTED_TRANSACTION), the outer transaction rolls back like any failure, and
 * the session goes on serving. Work started from a transaction that runs after it has ended is not refused.
 * And a project's settings, read inside a transaction, are read through it (the case that deadlocked).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPglite, type TestDatabase } from '../support/db.js';
import { ProjectSettingsCache } from '../../src/modules/tenancy/project-settings-cache.js';
import { createCache } from '../../src/internal/cache/index.js';

describe('embedded database: a call from inside a transaction', () => {
  let database: TestDatabase;
  let scope: { tenantId: string; projectId: string };

  before(async () => {
    database = await createPglite({ maintenanceIntervalMs: 0 });
    scope = await database.db.operator('test: a project', async (tx) => {
      const [tenant] = await tx.query<{ id: string }>("insert into tenants (name) values ('nested') returning id");
      const [project] = await tx.query<{ id: string }>("insert into projects (tenant_id, name) values ($1, 'nested') returning id", [tenant!.id]);
      return { tenantId: String(tenant!.id), projectId: String(project!.id) };
    });
  });
  after(async () => {
    await database?.drop();
  });

  const names = async () =>
    (await database.db.operator('test: names', (tx) => tx.query<{ name: string }>("select name from tenants where name like 'nested%' order by name"))).map((row) => row.name);

  it('is refused at once; the outer transaction rolls back, and the session serves the next call', async () => {
    const started = Date.now();
    await assert.rejects(
      database.db.operator('test: outer', async (tx) => {
        await tx.query("insert into tenants (name) values ('nested-outer')");
        await database.db.tenantQuery(scope, 'select 1');
      }),
      (error: NodeJS.ErrnoException) => error.code === 'NESTED_TRANSACTION',
    );
    await assert.rejects(
      database.db.withTenant(scope, async () => database.db.withTenant(scope, async (inner) => inner.query('select 1'))),
      (error: NodeJS.ErrnoException) => error.code === 'NESTED_TRANSACTION',
    );
    assert.ok(Date.now() - started < 10_000, 'refused, not waited on');
    assert.deepEqual(await names(), ['nested'], 'the outer transaction rolled back');
    assert.deepEqual(await database.db.tenantQuery(scope, 'select 1 as one'), [{ one: 1 }]);
  });

  it('does not refuse work a transaction started that runs once it has ended', async () => {
    let later: Promise<unknown> | undefined;
    await database.db.withTenant(scope, async (tx) => {
      await tx.query('select 1');
      later = new Promise((resolve) => setTimeout(resolve, 50)).then(() => database.db.tenantQuery(scope, 'select 2 as two'));
    });
    assert.deepEqual(await later, [{ two: 2 }]);
  });

  it('reads a project\'s settings through the transaction it is asked from', async () => {
    const cache = await createCache({ backend: 'memory' });
    const settings = new ProjectSettingsCache(database.db, cache, 0);
    const read = await database.db.withTenant(scope, (tx) => settings.get(scope, tx));
    assert.deepEqual(read, await settings.get(scope));
    await cache.close();
  });
});
