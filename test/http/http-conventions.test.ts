/**
 * HTTP conventions every client library relies on:
 * - the auth scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` work as `Bearer` does;
 * - every 401 says how to authenticate: `WWW-Authenticate: Bearer realm="ggscale"`, with
 *   `error="invalid_token"` when a credential was presented and refused (RFC 6750 §3);
 * - a known path asked with a method it does not serve is `405 method-not-allowed` with an Allow header
 *   (RFC 9110 §15.5.6), a plain OPTIONS there is answered with Allow, and only an unknown path is 404.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { OPERATOR_TOKEN, createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { attempt, Client, realtimeUrl } from '../realtime/helpers.js';
import { rawRequest } from '../reliability/support/raw-http.js';

const REALM_ONLY = 'Bearer realm="ggscale"';
const INVALID_TOKEN = 'Bearer realm="ggscale", error="invalid_token"';

function assertProblem(res: LightMyRequestResponse, status: number, slug: string, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  if (res.body !== '') assert.equal(res.json<{ type: string }>().type, `https://ggscale.dev/problems/${slug}`, what);
}

for (const kind of databaseKinds()) {
  describe(`HTTP conventions (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    let player: TestPlayer;

    const call = (method: string, url: string, authorization?: string, payload?: unknown) =>
      t.app.inject({
        method: method as 'GET',
        url,
        headers: authorization === undefined ? {} : { authorization },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { LOG_LEVEL: 'warn', REFRESH_REUSE_GRACE_SECONDS: '0' } });
      project = await createProject(t.app, await createTenant(t.app));
      player = await createPlayer(t.app, project);
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('accepts the Bearer scheme in any case', async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
        assert.equal((await call('GET', '/v1/admin/tenants', `${scheme} ${OPERATOR_TOKEN}`)).statusCode, 200, `${scheme}: operator`);
        assert.equal((await call('GET', '/v1/leaderboards', `${scheme} ${project.secretKey}`)).statusCode, 200, `${scheme}: secret key`);
        assert.equal((await call('GET', '/v1/auth/me', `${scheme} ${player.accessToken}`)).statusCode, 200, `${scheme}: player token`);
      }
      // Still a bearer credential, and only that: other schemes and a scheme without its space are refused.
      for (const authorization of [`Basic ${OPERATOR_TOKEN}`, `Bearer${OPERATOR_TOKEN}`, `Bearers ${OPERATOR_TOKEN}`]) {
        assert.equal((await call('GET', '/v1/admin/tenants', authorization)).statusCode, 401, authorization);
      }
    });

    it('accepts a lower-case scheme on the realtime upgrade too', async () => {
      const url = `http://127.0.0.1:${await listen(t)}`;
      const client = await attempt(realtimeUrl(url), { headers: { authorization: `bearer ${player.accessToken}` } });
      assert.ok(client instanceof Client, 'upgraded');
      client.ws.terminate();
    });

    it('says how to authenticate on every 401, and invalid_token when a credential was refused', async () => {
      const cases: [string, Promise<LightMyRequestResponse>, string][] = [
        ['no credential', call('GET', '/v1/leaderboards'), REALM_ONLY],
        ['another scheme', call('GET', '/v1/leaderboards', 'Basic dXNlcjpwYXNz'), REALM_ONLY],
        ['an unknown secret key', call('GET', '/v1/leaderboards', `Bearer ggs_sk_${'A'.repeat(43)}`), INVALID_TOKEN],
        ['a malformed access token', call('GET', '/v1/auth/me', 'Bearer eyJ.eyJ.sig'), INVALID_TOKEN],
        ['a wrong operator token', call('GET', '/v1/admin/tenants', `Bearer ${OPERATOR_TOKEN}X`), INVALID_TOKEN],
        ['a wrong password (the key itself was fine)', call('POST', '/v1/auth/login', `Bearer ${project.publishableKey}`, { email: 'nobody@example.test', password: 'wrong password' }), REALM_ONLY],
      ];
      for (const [what, pending, expected] of cases) {
        const res = await pending;
        assertProblem(res, 401, 'unauthorized', what);
        assert.equal(res.headers['www-authenticate'], expected, what);
      }
      // A refresh token used twice: 401 from the route itself, not from the auth hook.
      const refreshed = await call('POST', '/v1/auth/refresh', `Bearer ${project.publishableKey}`, { refresh_token: player.refreshToken });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      const reused = await call('POST', '/v1/auth/refresh', `Bearer ${project.publishableKey}`, { refresh_token: player.refreshToken });
      assertProblem(reused, 401, 'unauthorized', 'a reused refresh token');
      assert.equal(reused.headers['www-authenticate'], REALM_ONLY);
      // Other answers do not carry it.
      assert.equal((await call('GET', '/v1/leaderboards', `Bearer ${project.publishableKey}`)).headers['www-authenticate'], undefined, '403');
    });

    it('answers 405 with Allow for a known path and a method it does not serve', async () => {
      const cases: [string, string, string][] = [
        ['DELETE', '/v1/healthz', 'GET, HEAD, OPTIONS'],
        ['POST', '/v1/healthz?x=1', 'GET, HEAD, OPTIONS'],
        ['PUT', '/v1/leaderboards', 'GET, HEAD, POST, OPTIONS'],
        ['PATCH', '/v1/leaderboards/some-board/scores/123', 'GET, HEAD, DELETE, OPTIONS'],
        ['POST', '/v1/storage/saves/slot-1', 'GET, HEAD, PUT, DELETE, OPTIONS'],
        ['GET', '/v1/auth/login', 'POST, OPTIONS'],
        ['TRACE', '/v1/admin/tenants', 'GET, HEAD, POST, OPTIONS'],
        ['GET', '/v1/admin/projects/1', 'PATCH, OPTIONS'],
      ];
      for (const [method, url, allow] of cases) {
        const res = await call(method, url, `Bearer ${project.secretKey}`);
        assertProblem(res, 405, 'method-not-allowed', `${method} ${url}`);
        assert.equal(res.headers.allow, allow, `${method} ${url}`);
        assert.match(res.json<{ detail: string }>().detail, new RegExp(`${method}.*${allow.split(', ')[0]}`), `${method} ${url}`);
      }
      // HEAD is answered without a body, still with its Allow.
      const head = await call('HEAD', '/v1/auth/login');
      assert.equal(head.statusCode, 405);
      assert.equal(head.headers.allow, 'POST, OPTIONS');
      assert.equal(head.body, '');
    });

    it('answers a plain OPTIONS on a known path with Allow, and keeps 404 for unknown paths', async () => {
      const options = await call('OPTIONS', '/v1/leaderboards');
      assert.equal(options.statusCode, 204, options.body);
      assert.equal(options.headers.allow, 'GET, HEAD, POST, OPTIONS');
      assert.equal(options.body, '');
      for (const [method, url] of [
        ['GET', '/v1/nope'],
        ['DELETE', '/v1/nope'],
        ['OPTIONS', '/v1/nope'],
        ['GET', '/v1/healthz/'],
        ['GET', '/v1/storage'],
        ['GET', '/v1/storage/a/b/c'],
      ] as const) {
        const res = await call(method, url);
        assertProblem(res, 404, 'not-found', `${method} ${url}`);
        assert.equal(res.headers.allow, undefined, `${method} ${url}`);
      }
    });
  });
}

describe('CONNECT, which names no resource here', () => {
  it('is a 405 whose Allow is empty (no method applies to its target)', async () => {
    const t = await buildTestApp({ env: { LOG_LEVEL: 'warn' } });
    try {
      const answer = await rawRequest(await listen(t), Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 5_000);
      assert.equal(answer.status, 405);
      assert.equal(answer.headers.allow, '');
    } finally {
      await t.close();
    }
  });
});

async function listen(t: TestApp): Promise<number> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' });
  return (t.app.server.address() as { port: number }).port;
}
