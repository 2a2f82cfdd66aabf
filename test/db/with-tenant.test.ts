/** withTenant / tenantQuery / operator semantics on every database kind. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { seedTenant } from '../support/fixtures/index.js';

for (const kind of databaseKinds()) {
  describe(`withTenant (${kind.name})`, () => {
    let test: TestDatabase;
    let a: { tenantId: string; projects: [string, string] };
    let b: { tenantId: string; projects: [string, string] };

    before(async () => {
      test = await kind.create();
      a = await test.db.operator('seed', (tx) => seedTenant(tx, 'wt-a'));
      b = await test.db.operator('seed', (tx) => seedTenant(tx, 'wt-b'));
    });
    after(async () => test?.drop());

    it('runs as ggscale_app with the scope set, and nothing leaks past the transaction', async () => {
      const [inside] = await test.db.withTenant({ tenantId: a.tenantId, projectId: a.projects[0] }, (tx) =>
        tx.query<{ role: string; tenant: string; project: string }>(
          "select current_user as role, current_setting('app.tenant_id') as tenant, current_setting('app.project_id') as project",
        ),
      );
      assert.deepEqual(inside, { role: 'ggscale_app', tenant: a.tenantId, project: a.projects[0] });
      const [outside] = await test.db.operator('test', (tx) =>
        tx.query<{ role: string; tenant: string | null }>("select current_user as role, nullif(current_setting('app.tenant_id', true), '') as tenant"),
      );
      assert.notEqual(outside!.role, 'ggscale_app');
      assert.equal(outside!.tenant, null);
    });

    it('tenantQuery reads in the scope', async () => {
      const rows = await test.db.tenantQuery<{ id: string }>({ tenantId: b.tenantId, projectId: b.projects[1] }, 'select id from projects');
      assert.deepEqual(rows.map((r) => r.id), [b.projects[1]]);
    });

    it('rolls back when fn throws, and a failed tenantQuery changes nothing', async () => {
      await assert.rejects(
        test.db.operator('test', async (tx) => {
          await tx.query('insert into tenants (name) values ($1)', ['rolled-back']);
          throw new Error('boom');
        }),
        /boom/,
      );
      await assert.rejects(test.db.tenantQuery({ tenantId: a.tenantId, projectId: a.projects[0] }, 'select 1/0'));
      const rows = await test.db.operator('test', (tx) => tx.query("select 1 from tenants where name = 'rolled-back'"));
      assert.equal(rows.length, 0);
      // The connection / session is still usable afterwards.
      assert.equal((await test.db.tenantQuery({ tenantId: a.tenantId, projectId: a.projects[0] }, 'select id from projects')).length, 1);
    });

    it('refuses ids that are not decimal (values are bound, never spliced)', async () => {
      await assert.rejects(test.db.withTenant({ tenantId: "1'; drop table tenants; --" }, async () => undefined), /decimal/);
    });

    it('concurrent transactions of different tenants never see each other\'s rows', async () => {
      const scopes = [
        { tenantId: a.tenantId, projectId: a.projects[0] },
        { tenantId: b.tenantId, projectId: b.projects[0] },
        { tenantId: a.tenantId, projectId: a.projects[1] },
        { tenantId: b.tenantId, projectId: b.projects[1] },
      ];
      const runs = Array.from({ length: 200 }, async (_, i) => {
        const scope = scopes[i % scopes.length]!;
        return test.db.withTenant(scope, async (tx) => {
          const first = await tx.query<{ id: string; tenant_id: string }>('select id, tenant_id from projects');
          await tick(); // give another request every chance to interleave
          const second = await tx.query<{ tenant: string }>("select current_setting('app.tenant_id') as tenant");
          return { scope, first, second };
        });
      });
      for (const { scope, first, second } of await Promise.all(runs)) {
        assert.deepEqual(first, [{ id: scope.projectId, tenant_id: scope.tenantId }]);
        assert.equal(second[0]!.tenant, scope.tenantId);
      }
    });
  });
}
