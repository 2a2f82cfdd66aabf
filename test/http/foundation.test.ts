/** The HTTP skeleton through inject(): health, readiness, metrics, OpenAPI, problem JSON, request ids. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createPglite, type TestDatabase } from '../support/db.js';

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

function assertProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, slug: string): void {
  assert.equal(res.statusCode, status);
  assert.equal(res.headers['content-type'], PROBLEM_TYPE);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.type, `https://ggscale.dev/problems/${slug}`);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.request_id, res.headers['x-request-id']);
}

describe('HTTP skeleton', () => {
  let t: TestApp;
  let database: TestDatabase;

  before(async () => {
    database = await createPglite();
    t = await buildTestApp({ env: { GGSCALE_COMMIT: 'abc123' } });
  });
  after(async () => {
    await t.close();
    await database.drop();
  });

  it('healthz answers exactly the documented body', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/healthz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '{"status":"ok","version":"v1","commit":"abc123"}');
    assert.match(String(res.headers['content-type']), /^application\/json/);
  });

  it('readyz is 503 until the database is attached, then 200 with the cache state', async () => {
    const before = await t.app.inject({ method: 'GET', url: '/v1/readyz' });
    assertProblem(before, 503, 'unavailable');
    assert.ok(before.headers['retry-after']);
    t.db.attach(database.db);
    const ready = await t.app.inject({ method: 'GET', url: '/v1/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { database: 'ok', cache: 'ok' });
  });

  it('every unknown route is a 404 problem with the request id', async () => {
    assertProblem(await t.app.inject({ method: 'GET', url: '/v1/nope' }), 404, 'not-found');
    // A known path with a method it does not serve is a 405 (test/http/http-conventions.test.ts).
    assertProblem(await t.app.inject({ method: 'DELETE', url: '/v1/healthz' }), 405, 'method-not-allowed');
  });

  it('answers a URL that cannot be decoded with a 400 problem', async () => {
    assertProblem(await t.app.inject({ method: 'GET', url: '/v1/storage/%FF/key' }), 400, 'validation');
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const echoed = await t.app.inject({ method: 'GET', url: '/v1/healthz', headers: { 'x-request-id': 'abc-123.X:y' } });
    assert.equal(echoed.headers['x-request-id'], 'abc-123.X:y');
    const replaced = await t.app.inject({ method: 'GET', url: '/v1/healthz', headers: { 'x-request-id': 'bad id\u00e9<script>' } });
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('serves Prometheus metrics with the request histogram by route template and the pool gauges', async () => {
    await t.app.inject({ method: 'GET', url: '/v1/healthz' });
    await t.app.inject({ method: 'GET', url: '/v1/nope?token=secret' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /http_request_duration_seconds_bucket\{[^}]*method="GET"[^}]*route="\/v1\/healthz"[^}]*status_code="200"/);
    assert.match(res.body, /route="unmatched"/);
    assert.doesNotMatch(res.body, /secret/);
    assert.match(res.body, /ggscale_db_pool_max 1/);
    assert.match(res.body, /ggscale_db_pool_in_use/);
  });

  it('exposes metric names that follow the Prometheus conventions (as promtool checks them)', async () => {
    const { Metrics } = await import('../../src/internal/telemetry/metrics.js');
    const metrics = new Metrics();
    const text = await metrics.registry.metrics();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    assert.ok(types.length > 10);
    for (const [name, type] of types) {
      assert.match(name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      if (type === 'counter') assert.match(name, /_total$/, `${name}: counters end in _total`);
      else assert.doesNotMatch(name, /_total$/, `${name}: a ${type} must not end in _total`);
    }
    const { spawnSync } = await import('node:child_process');
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text });
    if (promtool.error === undefined) assert.equal(promtool.status, 0, promtool.stdout.toString() + promtool.stderr.toString());
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
      servers: unknown[];
      components: { securitySchemes: object };
    }>();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.servers.length > 0);
    assert.ok(doc.components.securitySchemes);
    const health = doc.paths['/v1/healthz']?.get;
    assert.equal(health?.operationId, 'getHealth');
    assert.ok(health?.responses['200']);
    assert.ok(health?.responses['500'], 'error responses are documented');
    assert.equal(doc.paths['/metrics'], undefined, 'operational text endpoints are not API operations');
  });

  it('gives every operation an operationId, a summary, a security requirement and problem responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, { operationId?: string; summary?: string; security?: unknown[]; responses: Record<string, unknown> }>>;
    }>();
    const ids = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        assert.ok(operation.operationId, `${where}: operationId`);
        assert.ok(!ids.has(operation.operationId), `${where}: operationId is unique`);
        ids.add(operation.operationId);
        assert.ok(operation.summary, `${where}: summary`);
        assert.ok(Array.isArray(operation.security), `${where}: security`);
        assert.ok(Object.keys(operation.responses).some((status) => status.startsWith('4')), `${where}: a 4xx response`);
        assert.ok(operation.responses['500'], `${where}: the 500 problem`);
      }
    }
    assert.ok(ids.has('createTenant') && ids.has('login'), 'the domain routes are documented');
    assert.ok(ids.has('headStorageObject'), 'an explicit HEAD route is documented too');
  });

  it('logs one JSON line per request with request id, route, status and latency, and no credentials', async () => {
    t.logs.lines.length = 0;
    await t.app.inject({
      method: 'GET',
      url: '/v1/healthz?token=supersecret-token',
      headers: { authorization: 'Bearer ggs_sk_secretvalue', cookie: 'sid=cookievalue', 'x-request-id': 'log-test-1' },
    });
    const lines = t.logs.records().filter((r) => r.request_id === 'log-test-1');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.route, '/v1/healthz');
    assert.equal(lines[0]!.status, 200);
    assert.equal(typeof lines[0]!.ms, 'number');
    const all = t.logs.lines.join('\n');
    for (const secret of ['supersecret-token', 'ggs_sk_secretvalue', 'cookievalue']) assert.ok(!all.includes(secret), `${secret} leaked`);
  });
});

describe('strict request bodies', () => {
  let t: TestApp;
  before(async () => {
    const { Type } = await import('@sinclair/typebox');
    t = await buildTestApp({
      env: { BODY_LIMIT_BYTES: '2048' },
      routes: (app) =>
        app.post(
          '/v1/test/echo',
          {
            schema: {
              operationId: 'testEcho',
              body: Type.Object({ n: Type.Integer(), s: Type.String({ maxLength: 10 }) }, { additionalProperties: false }),
            },
          },
          async (request) => request.body,
        ),
    });
  });
  after(() => t.close());

  const post = (payload: string, contentType = 'application/json') =>
    t.app.inject({ method: 'POST', url: '/v1/test/echo', payload, headers: { 'content-type': contentType } });

  it('accepts a valid body', async () => {
    const res = await post('{"n":1,"s":"x"}');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { n: 1, s: 'x' });
  });
  it('does not coerce types', async () => assertProblem(await post('{"n":"1","s":"x"}'), 400, 'validation'));
  it('refuses unknown fields instead of dropping them', async () => {
    const res = await post('{"n":1,"s":"x","admin":true}');
    assertProblem(res, 400, 'validation');
    assert.match(res.json<{ detail: string }>().detail, /unknown field "admin"/);
  });
  it('bounds strings', async () => assertProblem(await post('{"n":1,"s":"01234567890"}'), 400, 'validation'));
  it('answers malformed JSON with 400', async () => assertProblem(await post('{"n":1,'), 400, 'validation'));
  it('answers an empty JSON body with 400', async () => assertProblem(await post(''), 400, 'validation'));
  it('answers prototype-pollution keys without effect', async () => {
    const res = await post('{"n":1,"s":"x","__proto__":{"polluted":true}}');
    assert.ok(res.statusCode === 400, `got ${res.statusCode}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
  it('answers an oversized body with 413', async () => assertProblem(await post(JSON.stringify({ n: 1, s: 'x'.repeat(5000) })), 413, 'payload-too-large'));
  it('answers an unsupported content type with 415', async () => assertProblem(await post('n=1', 'text/plain'), 415, 'unsupported-media-type'));
});
