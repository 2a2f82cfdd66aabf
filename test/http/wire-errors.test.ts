/**
 * Regressions (found by the bad-input fuzzer's socket pass): what Node's HTTP layer refuses before Fastify
 * routes a request was not problem JSON (Fastify's own JSON for parse errors and 431, a bare 400 for a
 * missing Host, a bare 417 for an unknown Expect, nothing at all for CONNECT), and an Upgrade request to a
 * plain route kept its socket open for good, so a graceful shutdown never finished.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { buildTestApp, type TestApp } from '../support/app.js';
import { rawRequest, type RawAnswer } from '../reliability/support/raw-http.js';

const OPERATOR = 'Authorization: Bearer test-operator-token-0123456789abcdef';
const head = (lines: string[], requestLine = 'GET /v1/healthz HTTP/1.1') => `${requestLine}\r\n${lines.join('\r\n')}\r\n\r\n`;

function assertProblem(answer: RawAnswer, status: number, slug: string): void {
  assert.equal(answer.status, status, answer.body);
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  assert.equal(body.type, `https://ggscale.dev/problems/${slug}`);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(body.request_id, answer.headers['x-request-id']);
}

describe('errors before routing, on the wire', () => {
  let t: TestApp;
  let port: number;
  const send = (text: string) => rawRequest(port, Buffer.from(text, 'latin1'), 5_000);

  before(async () => {
    t = await buildTestApp({ env: { LOG_LEVEL: 'warn' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  after(async () => {
    await t.close();
  });

  it('an oversized head is 431 problem JSON', async () => {
    assertProblem(await send(head(['Host: x', `X-Big: ${'x'.repeat(20_000)}`])), 431, 'headers-too-large');
    assertProblem(await send(head(['Host: x'], `GET /v1/healthz?q=${'a'.repeat(20_000)} HTTP/1.1`)), 431, 'headers-too-large');
  });

  it('bytes the parser refuses are 400 problem JSON', async () => {
    const cases = [
      head(['Host: x'], 'GET /v1/healthz\xff HTTP/1.1'),
      head(['Host: x', 'X-Request-Id: safe\rX-Injected: 1']),
      head(['Host: x', 'X-Folded: a', ' b']),
      // Authorised at once (the operator token is checked synchronously), so the body's framing is what fails.
      `${head(['Host: x', OPERATOR, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], 'POST /v1/admin/tenants HTTP/1.1')}zz\r\n{}\r\n0\r\n\r\n`,
      `${head(['Host: x', OPERATOR, 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3'], 'POST /v1/admin/tenants HTTP/1.1')}{}x`,
      head(['Host: x'], 'FOO /v1/healthz HTTP/1.1'),
    ];
    for (const text of cases) {
      const answer = await send(text);
      assertProblem(answer, 400, 'validation');
      assert.equal(answer.headers['x-injected'], undefined);
    }
  });

  it('an HTTP/1.1 request without Host is 400 problem JSON', async () => {
    assertProblem(await send(head(['Connection: close'])), 400, 'validation');
    // HTTP/1.0 needs no Host.
    assert.equal((await send(head([], 'GET /v1/healthz HTTP/1.0'))).status, 200);
  });

  it('an unknown Expect is 417 problem JSON, and CONNECT is 405 problem JSON', async () => {
    assertProblem(await send(head(['Host: x', 'Expect: something-else'])), 417, 'expectation-failed');
    assertProblem(await send(head(['Host: x'], 'CONNECT example.com:443 HTTP/1.1')), 405, 'method-not-allowed');
  });

  it('an Upgrade request to a plain route is answered and its socket closed', async () => {
    for (const upgrade of ['Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Upgrade: h2c']) {
      const closedByServer = await new Promise<boolean>((resolve) => {
        const socket = connect({ port, host: '127.0.0.1' });
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(false);
        }, 3_000);
        socket.on('connect', () => socket.write(head(['Host: x', 'Connection: Upgrade', upgrade])));
        socket.on('data', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      assert.ok(closedByServer, `${upgrade.split('\r\n')[0]}: the server kept the socket open`);
    }
  });
});
