/**
 * Response headers over a real socket on representative routes: nothing that names the software or its
 * version, nosniff everywhere, JSON with its charset, a request id on every answer (errors included),
 * no-store on everything that carries tokens, keys or player data, and CORS answered only for the
 * configured origins.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { OPERATOR_TOKEN, createProject, createTenant, type TestProject } from '../support/tenancy.js';

const GAME_ORIGIN = 'https://game.example';
const OTHER_ORIGIN = 'https://evil.example';
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

/** What every answer carries, whatever its route or status. */
function assertBaseline(res: Response, what: string): void {
  assert.equal(res.headers.get('x-powered-by'), null, `${what}: x-powered-by`);
  const server = res.headers.get('server');
  assert.ok(server === null || !/\d/.test(server), `${what}: server header names a version: ${server}`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.match(res.headers.get('x-request-id') ?? '', SAFE_REQUEST_ID, `${what}: x-request-id`);
  assert.equal(res.headers.get('access-control-allow-origin'), null, `${what}: CORS without an Origin`);
}

function assertJson(res: Response, what: string): void {
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', what);
}

function assertProblem(res: Response, status: number, what: string): void {
  assert.equal(res.status, status, what);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', what);
}

function assertNoStore(res: Response, what: string): void {
  assert.match(res.headers.get('cache-control') ?? '', /(^|,\s*)no-store(\s*,|$)/, `${what}: cache-control ${res.headers.get('cache-control')}`);
}

for (const kind of databaseKinds()) {
  describe(`response headers (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let base: string;
    let project: TestProject;

    const call = async (method: string, path: string, credential?: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(base + path, {
        method,
        headers: {
          ...(credential ? { authorization: `Bearer ${credential}` } : {}),
          ...(body === undefined || Buffer.isBuffer(body) ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) }),
      });
      await res.arrayBuffer();
      return res;
    };

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { CORS_ORIGINS: GAME_ORIGIN } });
      base = await listen(t);
      project = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('healthz, openapi.json and jwks: JSON with charset, nothing about the software; jwks stays cacheable', async () => {
      const health = await call('GET', '/v1/healthz');
      assert.equal(health.status, 200);
      assertBaseline(health, 'healthz');
      assertJson(health, 'healthz');
      const openapi = await call('GET', '/v1/openapi.json');
      assertBaseline(openapi, 'openapi');
      assertJson(openapi, 'openapi');
      const jwks = await call('GET', '/.well-known/jwks.json');
      assertBaseline(jwks, 'jwks');
      assertJson(jwks, 'jwks');
      assert.equal(jwks.headers.get('cache-control'), 'public, max-age=60', 'public keys may be cached');
    });

    it('errors are problem JSON with a request id: 404, 401, 400 from validation and from the framework', async () => {
      const cases: [string, Response, number][] = [
        ['unknown route', await call('GET', '/v1/no-such-route'), 404],
        ['no credential', await call('GET', '/v1/auth/me'), 401],
        ['bad credential', await call('GET', '/v1/auth/me', 'not-a-real-token'), 401],
        ['validation', await call('POST', '/v1/auth/signup', project.publishableKey, { email: 'a@b.example', password: 'short' }), 400],
        ['undecodable URL', await call('GET', '/v1/storage/%E0%A4%A/key', project.secretKey), 400],
      ];
      for (const [what, res, status] of cases) {
        assertProblem(res, status, what);
        assertBaseline(res, what);
      }
      // Refusals behind a credential say nothing a cache should keep either.
      assertNoStore(cases[1]![1], 'no credential');
    });

    it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
      const echoed = await call('GET', '/v1/healthz', undefined, undefined, { 'x-request-id': 'client-id_1.2:3' });
      assert.equal(echoed.headers.get('x-request-id'), 'client-id_1.2:3');
      const unsafe = await call('GET', '/v1/healthz', undefined, undefined, { 'x-request-id': 'evil\tid"<script>' });
      assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });

    it('operator API answers that carry keys are no-store JSON', async () => {
      const created = await call('POST', `/v1/admin/projects/${project.projectId}/api-keys`, OPERATOR_TOKEN, { kind: 'secret', name: 'headers' });
      assert.equal(created.status, 201);
      assertBaseline(created, 'create key');
      assertJson(created, 'create key');
      assertNoStore(created, 'create key');
      const listed = await call('GET', `/v1/admin/projects/${project.projectId}/api-keys`, OPERATOR_TOKEN);
      assert.equal(listed.status, 200);
      assertNoStore(listed, 'list keys');
      const tenants = await call('GET', '/v1/admin/tenants', OPERATOR_TOKEN);
      assertNoStore(tenants, 'list tenants');
    });

    it('every token answer of /v1/auth and every player read is no-store JSON', async () => {
      const email = `headers-${Date.now()}@players.example`;
      const password = 'a-long-enough-password';
      const signup = await fetch(`${base}/v1/auth/signup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${project.publishableKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      assert.equal(signup.status, 201);
      const signedIn = (await signup.json()) as { access_token: string; refresh_token: string };
      assertNoStore(signup, 'signup');
      const login = await call('POST', '/v1/auth/login', project.publishableKey, { email, password });
      const device = await call('POST', '/v1/auth/device', project.publishableKey, { device_id: `headers-device-${Date.now()}-0123456789` });
      const refresh = await call('POST', '/v1/auth/refresh', project.publishableKey, { refresh_token: signedIn.refresh_token });
      const me = await call('GET', '/v1/auth/me', signedIn.access_token);
      for (const [what, res, status] of [['signup', signup, 201], ['login', login, 200], ['device', device, 201], ['refresh', refresh, 200], ['me', me, 200]] as const) {
        assert.equal(res.status, status, what);
        assertBaseline(res, what);
        assertJson(res, what);
        assertNoStore(res, what);
      }
      const scores = await call('GET', '/v1/leaderboards/none-here/scores', signedIn.access_token);
      assertProblem(scores, 404, 'leaderboard read');
      assertNoStore(scores, 'leaderboard read');
    });

    it('storage: a stored object keeps its type but cannot run (nosniff, sandbox) and no shared cache keeps it', async () => {
      const put = await call('PUT', '/v1/storage/saves/page', project.secretKey, Buffer.from('<script>alert(1)</script>'), { 'content-type': 'text/html' });
      assert.equal(put.status, 201);
      assertBaseline(put, 'put');
      assertJson(put, 'put');
      assertNoStore(put, 'put');
      const get = await call('GET', '/v1/storage/saves/page', project.secretKey);
      assert.equal(get.status, 200);
      assertBaseline(get, 'get');
      assert.equal(get.headers.get('content-type'), 'text/html');
      assert.equal(get.headers.get('content-security-policy'), 'sandbox');
      const cacheControl = get.headers.get('cache-control') ?? '';
      assert.match(cacheControl, /\bprivate\b/, `object reads are private: ${cacheControl}`);
      assert.doesNotMatch(cacheControl, /\bpublic\b/);
      const notModified = await call('GET', '/v1/storage/saves/page', project.secretKey, undefined, { 'if-none-match': get.headers.get('etag')! });
      assert.equal(notModified.status, 304);
      assertBaseline(notModified, '304');
    });

    it('CORS: the configured origin is allowed (without credentials mode); any other origin gets no CORS headers', async () => {
      const preflight = (origin: string) =>
        call('OPTIONS', '/v1/auth/login', undefined, undefined, {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        });
      const allowed = await preflight(GAME_ORIGIN);
      assert.ok(allowed.status === 204 || allowed.status === 200, String(allowed.status));
      assert.equal(allowed.headers.get('access-control-allow-origin'), GAME_ORIGIN);
      assert.match(allowed.headers.get('vary') ?? '', /origin/i, 'the answer depends on the Origin: caches must know');
      assert.equal(allowed.headers.get('access-control-allow-credentials'), null, 'no cookies are used: no credentials mode');
      const simple = await call('GET', '/v1/healthz', undefined, undefined, { origin: GAME_ORIGIN });
      assert.equal(simple.headers.get('access-control-allow-origin'), GAME_ORIGIN);
      assert.match(simple.headers.get('access-control-expose-headers') ?? '', /x-request-id/i);

      const refused = await preflight(OTHER_ORIGIN);
      assert.equal(refused.headers.get('access-control-allow-origin'), null);
      const other = await call('GET', '/v1/healthz', undefined, undefined, { origin: OTHER_ORIGIN });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    });
  });
}

describe('CORS by default (CORS_ORIGINS unset)', () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await buildTestApp();
    base = await listen(t);
  });
  after(() => t.close());

  it('answers no origin at all, preflight or not', async () => {
    const preflight = await fetch(`${base}/v1/auth/login`, {
      method: 'OPTIONS',
      headers: { origin: GAME_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    await preflight.arrayBuffer();
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
    const simple = await fetch(`${base}/v1/healthz`, { headers: { origin: GAME_ORIGIN } });
    await simple.arrayBuffer();
    assert.equal(simple.status, 200);
    assert.equal(simple.headers.get('access-control-allow-origin'), null);
    assertBaseline(simple, 'healthz with an Origin');
  });
});
