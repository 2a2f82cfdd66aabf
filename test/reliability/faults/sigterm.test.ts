/**
 * SIGTERM under HTTP and WebSocket load, on a PostgreSQL of the test's own. Requests in flight when the
 * signal arrives finish with their normal answer, every WebSocket is closed with 1012, the process exits
 * with 0, and every write that was acknowledged is there when a new process opens the same database.
 * (test/cli/server-process covers an idle SIGTERM on the embedded database; test/realtime/multi-node the
 * 1012 of a node sharing Redis.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, realtimeUrl, type Client } from '../../realtime/helpers.js';
import { OwnPostgres, skipUnlessServices } from '../../support/services.js';
import { eventually } from '../../support/eventually.js';
import { assertUnavailable, call, createProjectOver, killServer, signInDevice, startServer, tally, type Answer, type Player, type Project, type Server } from './helpers.js';

const SOCKETS = 6;
const SLOW_REQUESTS = 3;

/**
 * A storage PUT whose body arrives in two parts: `started` resolves once the server has read the headers
 * and asked for the body (100 Continue), so the request is certainly in flight; `finish()` sends the rest.
 */
function slowPut(base: string, secret: string, key: string, value: string) {
  const url = new URL(`/v1/storage/saves/${key}`, base);
  let finish!: () => void;
  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      agent: false,
      headers: {
        authorization: `Bearer ${secret}`,
        'content-type': 'application/octet-stream',
        'content-length': String(Buffer.byteLength(value)),
        expect: '100-continue',
      },
    });
    const half = Math.floor(value.length / 2);
    req.once('continue', () => {
      req.write(value.slice(0, half));
      resolveStarted();
    });
    finish = () => req.end(value.slice(half));
    req.once('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.flushHeaders();
  });
  return { started, answer, finish: () => finish() };
}

describe('SIGTERM under HTTP and WebSocket load (own PostgreSQL)', { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  let server: Server | undefined;
  let restarted: Server | undefined;
  let project: Project;
  const players: Player[] = [];
  const sockets: Client[] = [];

  before(async () => {
    pg = await OwnPostgres.create();
    server = await startServer({ DATABASE_URL: pg.url, STORAGE_MAX_OBJECTS_PER_OWNER: '1000000' });
    project = await createProjectOver(server.url);
    for (let i = 0; i < SOCKETS; i++) players.push(await signInDevice(server.url, project, `sigterm-player-${i}-0123456789`));
  });

  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    await killServer(server);
    await killServer(restarted);
    await pg?.destroy();
  });

  it('finishes in-flight requests, closes every WebSocket with 1012, exits 0, and keeps every acknowledged write', async () => {
    const base = server!.url;
    for (const player of players) sockets.push(await connect(realtimeUrl(base, player.accessToken)));
    for (const socket of sockets) assert.equal((await socket.request({ op: 'ping' })).op, 'pong');

    const writes: { key: string; value: string; answer: Answer }[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const key = `load-${w}-${i}`;
        const value = `value-${w}-${i}`;
        const answer = await call(base, 'PUT', `/v1/storage/saves/${key}`, { credential: project.secret, raw: value, deadlineMs: 15_000 });
        writes.push({ key, value, answer });
        // Once the server stops listening there is nothing more to learn.
        if (answer.error === 'ECONNREFUSED') return;
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
    const slow = Array.from({ length: SLOW_REQUESTS }, (_, i) => slowPut(base, project.secret, `slow-${i}`, `slow-value-${i}-${'x'.repeat(64)}`));
    try {
      await Promise.all(slow.map((s) => s.started));
      // Some load acknowledged alongside, so there is something to lose.
      await eventually(async () => writes.filter((w) => w.answer.status === 201).length >= 20, 20_000, '20 writes acknowledged before the signal');

      const signalledAt = Date.now();
      server!.child.kill('SIGTERM');
      const closes = sockets.map((socket) => socket.closedWithin(10_000));
      // The slow requests' bodies arrive after the signal: they must still be served normally.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const s of slow) s.finish();
      const slowAnswers = await Promise.all(slow.map((s) => s.answer));
      const closed = await Promise.all(closes);
      const exitCode = await Promise.race([server!.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000))]);
      const exitedMs = Date.now() - signalledAt;
      running = false;
      await load;

      const acknowledged = writes.filter((w) => w.answer.status >= 200 && w.answer.status < 300);
      console.log(
        `sigterm figures: ${JSON.stringify({
          exit_code: exitCode,
          exit_ms: exitedMs,
          close_codes: closed.map((c) => c.code),
          slowest_close_ms: Math.max(...closed.map((c) => c.ms)),
          slow_requests: slowAnswers.map((a) => a.status),
          load: tally(writes.map((w) => w.answer)),
          load_after_signal: tally(writes.filter((w) => w.answer.startedAt >= signalledAt).map((w) => w.answer)),
        })}`,
      );

      for (const [i, answer] of slowAnswers.entries()) assert.equal(answer.status, 201, `slow request ${i}: ${answer.status} ${answer.body}`);
      for (const close of closed) assert.equal(close.code, 1012);
      assert.equal(exitCode, 0, `exit code ${String(exitCode)}; stderr: ${server!.stderr.join('\n')}`);
      // Well inside SHUTDOWN_TIMEOUT_MS (10 s): nothing held the close until the deadline cut it.
      assert.ok(exitedMs < 5_000, `the process took ${exitedMs} ms to exit`);
      for (const { answer } of writes) {
        // Well before the signal, a request is in the server's hands: it gets its normal answer.
        if (answer.startedAt < signalledAt - 200) {
          assert.ok(answer.status >= 200 && answer.status < 300, `a write sent before the signal: ${answer.status} ${answer.error ?? ''} ${answer.body}`);
        }
        // Later: answered normally, refused as shutting down, or not connected at all once it stopped listening.
        if (answer.error) continue;
        if (answer.status === 503) assertUnavailable(answer, 'a write while shutting down');
        else assert.ok(answer.status >= 200 && answer.status < 300, `a write answered ${answer.status}: ${answer.body}`);
      }
      assert.ok(acknowledged.length >= 20, `only ${acknowledged.length} writes acknowledged`);
      server = undefined;

      // A new process on the same database has every acknowledged write.
      restarted = await startServer({ DATABASE_URL: pg.url, GGSCALE_MIGRATE_ON_START: 'false' });
      const expected = [...acknowledged.map((w) => ({ key: w.key, value: w.value })), ...slow.map((_, i) => ({ key: `slow-${i}`, value: `slow-value-${i}-${'x'.repeat(64)}` }))];
      for (const { key, value } of expected) {
        const read = await call(restarted.url, 'GET', `/v1/storage/saves/${key}`, { credential: project.secret });
        assert.equal(read.status, 200, `acknowledged ${key} is missing: ${read.body}`);
        assert.equal(read.body, value);
      }
      console.log(`sigterm: verified ${expected.length} acknowledged writes after the restart`);
    } finally {
      running = false;
      await load;
    }
  });
});
