/**
 * Deadlines: no request outlives REQUEST_TIMEOUT_MS. Work that is still running when it passes answers
 * 503 + Retry-After, and its transaction does not commit (on PostgreSQL the statement is cancelled too); a
 * client that sends its headers or body too slowly gets 408 (or a closed socket) within the same bound.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { withoutDeadline } from '../../src/internal/deadline.js';

const TIMEOUT_MS = 1_000;
/** Generous: the machine is shared; the point is "answered", not "answered fast". */
const ANSWERED_WITHIN_MS = TIMEOUT_MS + 4_000;

for (const kind of databaseKinds()) {
  describe(`request deadline (${kind.name})`, () => {
    let database: TestDatabase;
    let test: TestApp;
    let url: string;
    const background: Record<string, string> = {};

    before(async () => {
      database = await kind.create();
      await database.db.operator('test: deadline table', (tx) =>
        tx.query('create table if not exists deadline_probe (id text primary key)').then(() => tx.query('grant all on deadline_probe to ggscale_app')),
      );
      test = await buildTestApp({
        db: database.db,
        env: { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) },
        routes: (app) => {
          app.post('/test/never', async () => new Promise(() => undefined));
          // A transaction that writes, then waits past the deadline inside the database, then would commit.
          app.post<{ Querystring: { id: string } }>('/test/slow-write', async (request) => {
            await database.db.withTenant({ tenantId: '1' }, async (tx) => {
              await tx.query('insert into deadline_probe (id) values ($1)', [request.query.id]);
              await tx.query('select pg_sleep(3)');
            });
            return { committed: true };
          });
          app.get('/test/fast', async () => ({ ok: true }));
          // Work the request leaves running: inherited, it ends with the deadline; detached, it carries on.
          app.post('/test/background', async () => {
            const later = async (name: string) => {
              await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 1.5));
              background[name] = await database.db.tenantQuery({ tenantId: '1' }, 'select 1').then(
                () => 'ran',
                (error: { code?: string }) => error.code ?? 'failed',
              );
            };
            void later('inherited');
            void withoutDeadline(() => later('detached'));
            return new Promise(() => undefined);
          });
          app.post('/test/body-then-database', async (request) => {
            const rows = await database.db.tenantQuery({ tenantId: '1' }, 'select $1::text as echoed', [JSON.stringify(request.body)]);
            return rows[0];
          });
        },
      });
      url = await test.app.listen({ port: 0, host: '127.0.0.1' });
    });

    after(async () => {
      await test?.close();
      await database?.drop();
    });

    it('answers 503 with Retry-After when a handler outlives the deadline', async () => {
      const started = performance.now();
      const res = await fetch(`${url}/test/never`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      const body = (await res.json()) as { type: string; request_id: string };
      assert.equal(body.type, 'https://ggscale.dev/problems/unavailable');
      assert.ok(elapsed < ANSWERED_WITHIN_MS, `answered after ${Math.round(elapsed)} ms`);
    });

    it('keeps the deadline for requests with a body (they reach the database, and time out too)', async () => {
      const ok = await fetch(`${url}/test/body-then-database`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: 1 }),
      });
      assert.equal(ok.status, 200, await ok.text());
      const started = performance.now();
      const late = await fetch(`${url}/test/never`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: 1 }),
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(late.status, 503);
      assert.ok(performance.now() - started < ANSWERED_WITHIN_MS);
    });

    it('cancels the database work a request left running at its deadline, unless detached with withoutDeadline', async () => {
      const res = await fetch(`${url}/test/background`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      assert.equal(res.status, 503);
      await eventually(async () => Object.keys(background).length === 2, 20_000, 'both background tasks ended');
      assert.deepEqual(background, { inherited: 'DEADLINE_EXCEEDED', detached: 'ran' });
    });

    it('rolls back a transaction still running at the deadline', async () => {
      const id = `probe-${Math.random().toString(36).slice(2)}`;
      const started = performance.now();
      const res = await fetch(`${url}/test/slow-write?id=${id}`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 503, await res.text());
      assert.ok(elapsed < ANSWERED_WITHIN_MS, `answered after ${Math.round(elapsed)} ms`);
      // Whatever the database was doing has ended by now (the sleep was 3 s); the insert never committed.
      await eventually(
        async () => {
          const fast = await fetch(`${url}/test/fast`);
          return fast.status === 200;
        },
        20_000,
        'the server answers again',
      );
      await new Promise((resolve) => setTimeout(resolve, 3_500 - (performance.now() - started)));
      const rows = await database.db.operator('test: probe', (tx) => tx.query('select id from deadline_probe where id = $1', [id]));
      assert.deepEqual(rows, []);
      if (kind.name === 'postgres') {
        // The statement was cancelled rather than left to run out its sleep.
        const active = await database.db.operator('test: activity', (tx) =>
          tx.query("select pid from pg_stat_activity where query = 'select pg_sleep(3)' and state = 'active'"),
        );
        assert.deepEqual(active, []);
      }
    });

    it('answers 408 (or closes) when headers never finish', async () => {
      const outcome = await slowClient(url, 'GET /test/fast HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      assert.ok(outcome.elapsed < ANSWERED_WITHIN_MS, `socket still open after ${Math.round(outcome.elapsed)} ms`);
      assert.ok(outcome.answer === '' || outcome.answer.startsWith('HTTP/1.1 408'), outcome.answer.slice(0, 80));
    });

    it('answers 408 (or closes) when a body stops after 9 of 100 declared bytes', async () => {
      const outcome = await slowClient(
        url,
        'POST /test/never HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":"bcd',
      );
      assert.ok(outcome.elapsed < ANSWERED_WITHIN_MS, `socket still open after ${Math.round(outcome.elapsed)} ms`);
      assert.ok(outcome.answer === '' || outcome.answer.startsWith('HTTP/1.1 408'), outcome.answer.slice(0, 80));
    });
  });
}

/** Sends `head` and then nothing; resolves when the server answers and closes (or closes without a word). */
function slowClient(url: string, head: string): Promise<{ answer: string; elapsed: number }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(head));
    let answer = '';
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ answer, elapsed: performance.now() - started });
    }, 30_000);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', (error) => {
      clearTimeout(giveUp);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ answer, elapsed: performance.now() - started });
    });
  });
}

describe('a long REQUEST_TIMEOUT_MS', () => {
  it('starts (Node refused a header timeout above its default request timeout of 300 s)', async () => {
    const test = await buildTestApp({ env: { REQUEST_TIMEOUT_MS: '600000' } });
    try {
      await test.app.listen({ port: 0, host: '127.0.0.1' });
    } finally {
      await test.close();
    }
  });
});
