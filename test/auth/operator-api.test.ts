/** The operator API: tenants, projects, settings, keys, bans; guarded by the operator token only. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createProject, createTenant, operator } from '../support/tenancy.js';

for (const kind of databaseKinds()) {
  describe(`operator API (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db });
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('refuses a missing or wrong operator token, and API keys, on /v1/admin', async () => {
      const none = await t.app.inject({ method: 'GET', url: '/v1/admin/tenants' });
      assert.equal(none.statusCode, 401);
      const wrong = await t.app.inject({ method: 'GET', url: '/v1/admin/tenants', headers: bearer('x'.repeat(40)) });
      assert.equal(wrong.statusCode, 401);
      const project = await createProject(t.app, await createTenant(t.app));
      const withKey = await t.app.inject({ method: 'GET', url: '/v1/admin/tenants', headers: bearer(project.secretKey) });
      assert.equal(withKey.statusCode, 403);
      assert.equal(withKey.json<{ type: string }>().type, 'https://ggscale.dev/problems/forbidden');
    });

    it('creates tenants and projects with the documented shapes; names are unique', async () => {
      const res = await operator(t.app, 'POST', '/v1/admin/tenants', { name: 'acme-shape' });
      assert.equal(res.statusCode, 201);
      const tenant = res.json<Record<string, string>>();
      assert.deepEqual(Object.keys(tenant).sort(), ['created_at', 'id', 'name']);
      assert.match(tenant.id!, /^\d+$/);
      assert.equal((await operator(t.app, 'POST', '/v1/admin/tenants', { name: 'acme-shape' })).statusCode, 409);
      const project = await operator(t.app, 'POST', `/v1/admin/tenants/${tenant.id}/projects`, { name: 'space-race' });
      assert.equal(project.statusCode, 201);
      assert.equal(project.json<{ tenant_id: string }>().tenant_id, tenant.id);
      assert.equal((await operator(t.app, 'POST', `/v1/admin/tenants/${tenant.id}/projects`, { name: 'space-race' })).statusCode, 409);
      assert.equal((await operator(t.app, 'POST', '/v1/admin/tenants/999999999/projects', { name: 'x' })).statusCode, 404);
      const list = await operator(t.app, 'GET', '/v1/admin/tenants?limit=1');
      assert.equal(list.statusCode, 200);
      const page = list.json<{ items: unknown[]; next_cursor: string | null }>();
      assert.equal(page.items.length, 1);
      assert.ok(page.next_cursor);
      assert.equal((await operator(t.app, 'GET', '/v1/admin/tenants?limit=0')).statusCode, 400);
      assert.equal((await operator(t.app, 'GET', '/v1/admin/tenants?cursor=garbage')).statusCode, 400);
    });

    it('rejects bad input with 4xx and never 5xx', async () => {
      const cases: [string, string, unknown][] = [
        ['POST', '/v1/admin/tenants', { name: '' }],
        ['POST', '/v1/admin/tenants', { name: 'x'.repeat(101) }],
        ['POST', '/v1/admin/tenants', { name: 'ok', extra: 1 }],
        ['POST', '/v1/admin/tenants/abc/projects', { name: 'x' }],
        ['POST', '/v1/admin/tenants/99999999999999999999999/projects', { name: 'x' }],
        ['PATCH', '/v1/admin/projects/1', { limits: { rate_limit_per_min: -1 } }],
        ['PATCH', '/v1/admin/projects/1', { limits: { unknown_limit: 1 } }],
        ['POST', '/v1/admin/projects/1/api-keys', { kind: 'root', name: 'x' }],
        ['DELETE', '/v1/admin/api-keys/0', undefined],
      ];
      for (const [method, url, payload] of cases) {
        const res = await operator(t.app, method as 'POST', url, payload);
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${method} ${url} → ${res.statusCode}`);
      }
    });

    it('creates keys shown once, lists them without the key, and a revoked key stops working at once', async () => {
      const project = await createProject(t.app, await createTenant(t.app));
      const list = await operator(t.app, 'GET', `/v1/admin/projects/${project.projectId}/api-keys`);
      const items = list.json<{ items: Record<string, unknown>[] }>().items;
      assert.equal(items.length, 2);
      for (const item of items) {
        assert.equal(item.key, undefined);
        assert.match(String(item.prefix), /^ggs_(sk|pk)_.{6}$/);
      }
      assert.ok(!list.body.includes(project.secretKey));
      const me = () => t.app.inject({ method: 'POST', url: '/v1/auth/device', headers: bearer(project.secretKey), payload: { device_id: 'device-0123456789abcdef' } });
      assert.ok([200, 201].includes((await me()).statusCode));
      assert.equal((await operator(t.app, 'DELETE', `/v1/admin/api-keys/${project.secretKeyId}`)).statusCode, 204);
      await eventually(async () => (await me()).statusCode === 401, 1000, 'revoked key refused');
    });

    it('stores per-project settings: limit overrides and CORS origins, null removes an override', async () => {
      const project = await createProject(t.app, await createTenant(t.app));
      const set = await operator(t.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, {
        limits: { auth_rate_limit_per_min: 5, rate_limit_per_min: 100 },
        cors_origins: ['https://game.example'],
      });
      assert.equal(set.statusCode, 200, set.body);
      assert.deepEqual(set.json<{ settings: unknown }>().settings, {
        limits: { auth_rate_limit_per_min: 5, rate_limit_per_min: 100 },
        cors_origins: ['https://game.example'],
      });
      const unset = await operator(t.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { limits: { rate_limit_per_min: null } });
      assert.deepEqual(unset.json<{ settings: unknown }>().settings, { limits: { auth_rate_limit_per_min: 5 }, cors_origins: ['https://game.example'] });
      assert.equal((await operator(t.app, 'PATCH', '/v1/admin/projects/999999999', { limits: {} })).statusCode, 404);
    });

    it('logs operator actions with actor, action and target, never the key', async () => {
      const project = await createProject(t.app, await createTenant(t.app));
      const audit = t.logs.records().filter((r) => r.audit === true);
      assert.ok(audit.some((r) => r.action === 'api_key.create' && r.actor === 'operator' && typeof r.target === 'string'));
      assert.ok(!t.logs.lines.join('\n').includes(project.secretKey));
      assert.ok(!t.logs.lines.join('\n').includes(project.publishableKey));
    });
  });
}
