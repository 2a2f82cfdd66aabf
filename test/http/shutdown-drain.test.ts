/**
 * Graceful shutdown over real keep-alive connections. Regressions found by test/reliability/faults/sigterm:
 * - a request that arrived while the server was closing got Fastify's own 503 (`application/json`, no
 *   Retry-After) instead of our problem JSON;
 * - a keep-alive connection whose request was in flight when shutdown began stayed open once that request
 *   was answered (Fastify keeps idle connections 72 s), so SIGTERM waited the whole SHUTDOWN_TIMEOUT_MS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTestApp, type TestApp } from '../support/app.js';
import { loadConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { serve, type RunningServer } from '../../src/start/serve.js';
import { OwnPostgres } from '../support/services.js';
import { eventually } from '../support/eventually.js';
import { OPERATOR_TOKEN } from '../support/tenancy.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request on `agent`; `body` is sent in two parts when `gate` is given (after it resolves). */
function send(agent: Agent, url: string, options: { method?: string; headers?: Record<string, string>; body?: string; gate?: Promise<void> } = {}) {
  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = request(url, { agent, method: options.method ?? 'GET', headers: options.headers });
    req.once('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    if (options.body === undefined) {
      req.end();
      resolveStarted();
      return;
    }
    // The server asks for the body once it has read the headers: the request is then certainly in flight.
    req.once('continue', () => {
      req.write(options.body!.slice(0, 1));
      resolveStarted();
      void options.gate!.then(() => req.end(options.body!.slice(1)));
    });
    req.flushHeaders();
  });
  return { started, answer };
}

describe('a request arriving while the server closes', () => {
  let t: TestApp;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    t = await buildTestApp({
      routes: (app) =>
        app.get('/test/held', async () => {
          await gate;
          return { held: true };
        }),
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => t.close());

  it('gets problem JSON 503 with Retry-After and Connection: close, while the one in flight gets its normal answer', async () => {
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const held = send(agent, `${base}/test/held`);
      const queued = send(agent, `${base}/v1/healthz`); // waits for the one connection, then reuses it
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = t.app.close();
      // Only once it has stopped listening: an idle connection closed at that moment would race the client.
      await eventually(async () => !t.app.server.listening, 5_000, 'the server to stop listening');
      release();
      const first = await held.answer;
      assert.equal(first.status, 200, first.body);
      const second = await queued.answer;
      assert.equal(second.status, 503, second.body);
      assert.match(String(second.headers['content-type']), /^application\/problem\+json/);
      assert.equal(second.headers['retry-after'], '1');
      assert.equal(second.headers.connection, 'close');
      assert.equal((JSON.parse(second.body) as { type: string }).type, 'https://ggscale.dev/problems/unavailable');
      await closing;
    } finally {
      agent.destroy();
    }
  });
});

describe('shutdown with a keep-alive request in flight (own PostgreSQL)', () => {
  let pg: OwnPostgres;
  let server: RunningServer | undefined;

  before(async () => {
    pg = await OwnPostgres.create();
    const config = loadConfig({
      DATABASE_URL: pg.url,
      GGSCALE_ADMIN_TOKEN: OPERATOR_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      FLEET_LOCAL_BUFFER: '0',
      SHUTDOWN_TIMEOUT_MS: '30000',
    });
    server = await serve(config, createLogger({ level: 'silent' }));
    await server.databaseReady;
  });
  after(async () => {
    await server?.shutdown('test over');
    await pg?.destroy();
  });

  it('ends as soon as the request in flight is answered, not after the shutdown timeout', async () => {
    const operator = (path: string, body: unknown) =>
      fetch(server!.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((res) => res.json() as Promise<{ id: string; key: string }>);
    const tenant = await operator('/v1/admin/tenants', { name: 'drain' });
    const project = await operator(`/v1/admin/tenants/${tenant.id}/projects`, { name: 'game' });
    const secret = (await operator(`/v1/admin/projects/${project.id}/api-keys`, { kind: 'secret', name: 'server' })).key;

    const agent = new Agent({ keepAlive: true });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    try {
      const put = send(agent, `${server!.url}/v1/storage/saves/drain`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream', 'content-length': '5', expect: '100-continue' },
        body: 'bytes',
        gate,
      });
      await put.started;
      const shutdownStarted = Date.now();
      const stopping = server!.shutdown('test');
      release();
      assert.equal((await put.answer).status, 201);
      await stopping;
      server = undefined;
      const shutdownMs = Date.now() - shutdownStarted;
      assert.ok(shutdownMs < 5_000, `shutdown took ${shutdownMs} ms after the in-flight request was answered`);
    } finally {
      agent.destroy();
    }
  });
});
