/**
 * Regression (found by the bad-input fuzzer): text Postgres cannot store (U+0000; a lone surrogate, which
 * jsonb refuses) in a field whose schema allowed it reached SQL and answered 500: an email on signup, login
 * and link, a CORS origin in project settings, an allocation annotation. Such text is now a 400 wherever it
 * comes in (JSON body, query string, path), while raw storage bodies, which are bytes, are untouched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';

const UNSTORABLE = ['a\u0000b', '\ud800', 'x\udc00'];

function assertValidation(res: LightMyRequestResponse, what: string): void {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json<{ type: string }>().type, 'https://ggscale.dev/problems/validation', what);
}

for (const kind of databaseKinds()) {
  describe(`text the database cannot store is a 400 (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { FLEET_LOCAL_BUFFER: '0', FLEET_ALLOCATION_WAIT_MS: '0' } });
      project = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    const post = (url: string, credential: string, payload: object) => t.app.inject({ method: 'POST', url, headers: bearer(credential), payload });

    it('in an email: signup, login and link answer 400, and nobody is created', async () => {
      const player = await createPlayer(t.app, project);
      for (const bad of UNSTORABLE) {
        const email = `${bad}@example.test`;
        assertValidation(await post('/v1/auth/signup', project.publishableKey, { email, password: 'long enough password' }), `signup ${JSON.stringify(bad)}`);
        assertValidation(await post('/v1/auth/login', project.publishableKey, { email, password: 'long enough password' }), `login ${JSON.stringify(bad)}`);
        assertValidation(await post('/v1/auth/link/email', player.accessToken, { email, password: 'long enough password' }), `link ${JSON.stringify(bad)}`);
      }
      const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(player.accessToken) });
      assert.equal(me.json<{ player: { email: string | null } }>().player.email, null, 'the device player was not linked');
    });

    it('in a CORS origin of the project settings', async () => {
      for (const bad of UNSTORABLE) {
        assertValidation(await operator(t.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { cors_origins: [`http://${bad}`] }), `origin ${JSON.stringify(bad)}`);
      }
    });

    it('in an allocation annotation, a key of a map, the query string and a path', async () => {
      for (const bad of UNSTORABLE) {
        assertValidation(await post('/v1/fleet/allocations', project.secretKey, { fleet: 'default', metadata: { annotations: { note: bad } } }), `annotation ${JSON.stringify(bad)}`);
        assertValidation(await post('/v1/fleet/allocations', project.secretKey, { fleet: 'default', metadata: { annotations: { [bad]: 'x' } } }), `annotation key ${JSON.stringify(bad)}`);
      }
      const list = await t.app.inject({ method: 'GET', url: '/v1/storage/saves?cursor=%00', headers: bearer(project.secretKey) });
      assertValidation(list, 'query string');
      const path = await t.app.inject({ method: 'GET', url: '/v1/leaderboards/a%00b', headers: bearer(project.secretKey) });
      assertValidation(path, 'path');
    });

    it('walks a 100k-deep body without overflowing the stack', async () => {
      const deep = '['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000);
      const res = await t.app.inject({ method: 'POST', url: '/v1/leaderboards', headers: { ...bearer(project.secretKey), 'content-type': 'application/json' }, payload: deep });
      assertValidation(res, 'deep body');
    });

    it('leaves raw storage bodies alone: NUL bytes are data there', async () => {
      const body = Buffer.from([0x00, 0xed, 0xa0, 0x80, 0x00]);
      const put = await t.app.inject({ method: 'PUT', url: '/v1/storage/saves/nul', headers: { ...bearer(project.secretKey), 'content-type': 'application/octet-stream' }, payload: body });
      assert.equal(put.statusCode, 201, put.body);
      const get = await t.app.inject({ method: 'GET', url: '/v1/storage/saves/nul', headers: bearer(project.secretKey) });
      assert.deepEqual(get.rawPayload, body);
    });
  });
}
