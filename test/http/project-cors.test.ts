/**
 * A project's own CORS origins (PATCH /v1/admin/projects/{id} {"cors_origins": [...]}) let a browser game
 * on that origin call ggscale with the project's keys. A preflight carries no credential, so it is allowed
 * when any project lists the origin; the actual answer carries Access-Control-Allow-Origin only when the
 * authenticated project (or CORS_ORIGINS) allows that origin, so one project's origin never reads another
 * project's answers. Removing an origin takes effect within a second.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';

const P_ORIGIN = 'https://p-game.example';
const Q_ORIGIN = 'https://q-game.example';
const UNKNOWN_ORIGIN = 'https://nobody.example';

for (const kind of databaseKinds()) {
  describe(`per-project CORS origins (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let p: TestProject;
    let q: TestProject;

    const preflight = (origin: string, url = '/v1/leaderboards') =>
      t.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const read = (project: TestProject, origin?: string) =>
      t.app.inject({ method: 'GET', url: '/v1/leaderboards', headers: { ...bearer(project.secretKey), ...(origin ? { origin } : {}) } });

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db });
      const tenant = await createTenant(t.app);
      p = await createProject(t.app, tenant);
      q = await createProject(t.app, tenant);
      for (const [project, origin] of [[p, P_ORIGIN], [q, Q_ORIGIN]] as const) {
        const res = await operator(t.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { cors_origins: [origin] });
        assert.equal(res.statusCode, 200, res.body);
      }
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    it('a preflight from an origin some project lists is allowed; from any other origin it is not', async () => {
      const allowed = await preflight(P_ORIGIN);
      assert.equal(allowed.statusCode, 204, allowed.body);
      assert.equal(allowed.headers['access-control-allow-origin'], P_ORIGIN);
      assert.match(String(allowed.headers['access-control-allow-methods']), /GET/);
      assert.match(String(allowed.headers['access-control-allow-headers']), /authorization/i);
      assert.match(String(allowed.headers.vary), /origin/i);
      assert.equal(allowed.headers['access-control-allow-credentials'], undefined);

      const refused = await preflight(UNKNOWN_ORIGIN);
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
      assert.equal(refused.headers['access-control-allow-methods'], undefined);
    });

    it('the answer is readable by the authenticated project’s own origin only', async () => {
      const own = await read(p, P_ORIGIN);
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.headers['access-control-allow-origin'], P_ORIGIN);
      assert.match(String(own.headers['access-control-expose-headers']), /x-request-id/i);
      assert.match(String(own.headers.vary), /origin/i);

      const otherProjectsOrigin = await read(p, Q_ORIGIN);
      assert.equal(otherProjectsOrigin.statusCode, 200);
      assert.equal(otherProjectsOrigin.headers['access-control-allow-origin'], undefined);

      const qOwn = await read(q, Q_ORIGIN);
      assert.equal(qOwn.headers['access-control-allow-origin'], Q_ORIGIN);

      const anonymous = await t.app.inject({ method: 'GET', url: '/v1/healthz', headers: { origin: P_ORIGIN } });
      assert.equal(anonymous.headers['access-control-allow-origin'], undefined, 'no project is known without a credential');
    });

    it('removing an origin takes effect within a second, preflight and answer', async () => {
      const res = await operator(t.app, 'PATCH', `/v1/admin/projects/${p.projectId}`, { cors_origins: [] });
      assert.equal(res.statusCode, 200, res.body);
      await eventually(
        async () => (await preflight(P_ORIGIN)).headers['access-control-allow-origin'] === undefined && (await read(p, P_ORIGIN)).headers['access-control-allow-origin'] === undefined,
        1_000,
        'the removed origin is refused',
      );
      // Q is untouched.
      assert.equal((await preflight(Q_ORIGIN)).headers['access-control-allow-origin'], Q_ORIGIN);
    });
  });
}
