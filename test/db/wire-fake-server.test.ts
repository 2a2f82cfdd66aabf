/**
 * Our wire-protocol client (src/internal/db/wire/connection.ts) against a scripted server
 * (test/support/fake-pg-server.ts), for the protocol's edges a real PostgreSQL will not produce on demand:
 * answers split byte by byte, an error among pipelined units, COPY, a forged SCRAM proof, statement-cache
 * eviction, a server that freezes, and the CancelRequest that follows a deadline.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PgConnection, type ConnectOptions } from '../../src/internal/db/wire/connection.js';
import { parseConnectionUrl } from '../../src/internal/db/wire/connection-options.js';
import { isDatabaseUnavailable } from '../../src/internal/db/errors.js';
import { backend, FakePgServer, type Answerer, type FakePgClient } from '../support/fake-pg-server.js';
import { eventually } from '../support/eventually.js';

let server: FakePgServer | undefined;
const connections: PgConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy();
  await server?.close();
  server = undefined;
});

async function startServer(session: (client: FakePgClient) => Promise<void>): Promise<FakePgServer> {
  server = await FakePgServer.start(session);
  return server;
}

function connect(fake: FakePgServer, options: Partial<ConnectOptions> = {}, query = ''): { connection: PgConnection; closes: () => number } {
  let closes = 0;
  const connection = new PgConnection(parseConnectionUrl(fake.url(query), {}), { connectTimeoutMs: 5_000, onClose: () => closes++, ...options });
  connections.push(connection);
  return { connection, closes: () => closes };
}

/** Answers `select <name>` with one text column of that name and each parameter as a row. */
const echo: Answerer = (text, params) => {
  const column = /^select (\w+)/.exec(text)?.[1] ?? 'x';
  if (text.startsWith('fail')) return { error: { code: '42P01', message: `relation "${text}" does not exist` } };
  return { columns: [column], rows: (params ?? []).map((value) => [value]) };
};

const serving = (answer: Answerer) => async (client: FakePgClient) => {
  await client.acceptLogin();
  await client.serve(answer);
};

const frozen = async (client: FakePgClient) => {
  await client.acceptLogin(777, 0x1234abcd);
  await client.ignoreAll();
};

/** A hang is a failure of its own test, not of the whole file. */
const BOUNDED = { timeout: 20_000 };

describe('the wire client against a scripted server', () => {
  it('reads answers that arrive one byte at a time', BOUNDED, async () => {
    const fake = await startServer(async (client) => {
      client.byteByByte = true;
      await client.acceptLogin();
      await client.serve(echo);
    });
    const { connection } = connect(fake);
    const [first, second] = await Promise.all([connection.query('select a', ['x', null, 'é✓']), connection.query('select b', ['y'])]);
    assert.deepEqual(first, [{ a: 'x' }, { a: null }, { a: 'é✓' }]);
    assert.deepEqual(second, [{ b: 'y' }]);
    assert.equal(connection.transactionStatus, 'I');
  });

  it('an ErrorResponse among several pipelined units fails that unit alone, each unit answered in order', BOUNDED, async () => {
    const fake = await startServer(serving(echo));
    const { connection } = connect(fake);
    const results = await Promise.allSettled([
      connection.query('select one', ['1']),
      connection.pipeline([
        ['select two', ['2']],
        ['fail here', []],
      ]),
      connection.query('select three', ['3']),
    ]);
    assert.deepEqual(results[0], { status: 'fulfilled', value: [{ one: '1' }] });
    const failed = results[1];
    assert.ok(failed.status === 'rejected');
    assert.equal((failed.reason as { code?: string }).code, '42P01');
    assert.deepEqual(results[2], { status: 'fulfilled', value: [{ three: '3' }] });
    assert.deepEqual(await connection.query('select four', ['4']), [{ four: '4' }]);
  });

  for (const copy of ['G', 'H', 'W'] as const) {
    it(`refuses COPY (${copy}): the call fails clearly, the connection is discarded, nothing hangs`, BOUNDED, async () => {
      const fake = await startServer(serving((text, params) => (text.startsWith('copy') ? { copy } : echo(text, params))));
      const { connection, closes } = connect(fake);
      const copying = connection.query('copy t from stdin');
      const behind = connection.query('select after', ['1']);
      await assert.rejects(copying, (error: Error & { code?: string }) => error.code === 'COPY_UNSUPPORTED' && /COPY/.test(error.message));
      await assert.rejects(behind);
      assert.equal(connection.closed, true);
      assert.equal(closes(), 1);
    });
  }

  it('a SCRAM server signature that does not match fails the login', BOUNDED, async () => {
    const fake = await startServer(async (client) => {
      await scramExchange(client, { forgeSignature: true });
      await client.serve(echo);
    });
    const { connection } = connect(fake);
    await assert.rejects(connection.query('select x', ['1']), (error: Error & { code?: string }) => /^28/.test(error.code ?? '') && /signature/i.test(error.message));
  });

  it('a SCRAM server that skips its proof and says AuthenticationOk fails the login', BOUNDED, async () => {
    const fake = await startServer(async (client) => {
      await scramExchange(client, { skipProof: true });
      await client.serve(echo);
    });
    const { connection } = connect(fake);
    await assert.rejects(connection.query('select x', ['1']), (error: Error & { code?: string }) => /^28/.test(error.code ?? ''));
  });

  it('the 501st distinct statement closes the oldest prepared one, which is prepared again when next used', BOUNDED, async () => {
    const fake = await startServer(serving(echo));
    const { connection } = connect(fake);
    for (let i = 0; i < 500; i++) await connection.query(`select c${i}`, []);
    const client = fake.clients[0]!;
    const closes = () => client.received.filter((message) => message.type === 'C').map((message) => message.body.toString('utf8', 1, message.body.length - 1));
    assert.deepEqual(closes(), []);
    await connection.query('select c500', []);
    assert.deepEqual(closes(), ['g1']);
    const parsesOfFirst = () => client.received.filter((message) => message.type === 'P' && message.body.includes('select c0\0')).length;
    assert.equal(parsesOfFirst(), 1);
    assert.deepEqual(await connection.query('select c0', ['again']), [{ c0: 'again' }]);
    assert.equal(parsesOfFirst(), 2);
  });

  it('a frozen server: the unit timeout cancels, discards the connection and fails as unavailable', BOUNDED, async () => {
    const fake = await startServer(frozen);
    const { connection, closes } = connect(fake, { unitTimeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(connection.query('select 1', []), (error: unknown) => isDatabaseUnavailable(error) && (error as { code?: string }).code === 'ETIMEDOUT');
    assert.ok(Date.now() - started < 5_000);
    assert.equal(connection.closed, true);
    assert.equal(closes(), 1);
    await eventually(() => fake.cancelRequests.length === 1, 5_000, 'the CancelRequest');
    assert.deepEqual(fake.cancelRequests[0], { processId: 777, secretKey: 0x1234abcd, sslRequested: false });
  });

  it('the unit timeout counts from the last word of the server: a unit queued behind slow ones is not failed for their time', BOUNDED, async () => {
    const slowMs = 1_500;
    const fake = await startServer(async (client) => {
      await client.acceptLogin();
      for (;;) {
        const unit = await client.unit().catch(() => undefined);
        if (!unit) return;
        await new Promise((resolve) => setTimeout(resolve, slowMs));
        await client.write(...client.answerUnit(unit, echo), backend.ready());
      }
    });
    const { connection } = connect(fake, { unitTimeoutMs: 2_000 });
    // Each answered 1.5 s after the one before: the second 3 s after it was sent, but never 2 s of silence.
    const answers = await Promise.all([connection.query('select a', ['1']), connection.query('select b', ['2'])]);
    assert.deepEqual(answers, [[{ a: '1' }], [{ b: '2' }]]);
  });

  it('a frozen server: an aborted signal fails the unit at once, cancels it and discards the connection', BOUNDED, async () => {
    const fake = await startServer(frozen);
    const { connection, closes } = connect(fake, {}, '?sslmode=prefer');
    const deadline = new AbortController();
    const running = connection.query('select pg_sleep(60)', [], deadline.signal);
    await eventually(() => fake.clients[0]?.received.some((message) => message.type === 'S') === true, 5_000, 'the unit sent');
    const aborted = Date.now();
    deadline.abort();
    await assert.rejects(running, { code: 'DEADLINE_EXCEEDED' });
    assert.ok(Date.now() - aborted < 1_000);
    assert.equal(connection.closed, true);
    assert.equal(closes(), 1);
    // With sslmode=prefer the cancel connection asks for TLS first, as the connection itself did.
    await eventually(() => fake.cancelRequests.length === 1, 5_000, 'the CancelRequest');
    assert.deepEqual(fake.cancelRequests[0], { processId: 777, secretKey: 0x1234abcd, sslRequested: true });
    // An already aborted signal: rejected without sending anything.
    await assert.rejects(connection.query('select 1', [], deadline.signal), { code: 'DEADLINE_EXCEEDED' });
  });

  it('cancel() sends the process id and secret key given at start-up', BOUNDED, async () => {
    const fake = await startServer(async (client) => {
      await client.acceptLogin(-5, -1_000_000);
      await client.serve(echo);
    });
    const { connection } = connect(fake);
    assert.deepEqual(await connection.query('select a', ['1']), [{ a: '1' }]);
    await connection.cancel();
    await eventually(() => fake.cancelRequests.length === 1, 5_000, 'the CancelRequest');
    assert.deepEqual(fake.cancelRequests[0], { processId: -5, secretKey: -1_000_000, sslRequested: false });
  });

  it('holds frames while the socket is full and sends them in order once it drains', BOUNDED, async () => {
    let client: FakePgClient | undefined;
    const fake = await startServer(async (accepted) => {
      client = accepted;
      await accepted.acceptLogin();
      await accepted.write(...accepted.answerUnit(await accepted.unit(), echo), backend.ready());
      accepted.socket.pause();
      await accepted.closed;
    });
    const { connection } = connect(fake);
    assert.deepEqual(await connection.query('select v', ['first']), [{ v: 'first' }]);
    // Writes of 512 kB each, to a server that reads nothing: the socket fills and we stop handing it frames.
    const values = Array.from({ length: 8 }, (_, i) => `${i}:` + randomBytes(256 * 1024).toString('hex'));
    const answers = values.map((value) => connection.query('select v', [value]));
    await eventually(() => connection.pendingWriteBytes > 0, 10_000, 'frames held back');
    void client!.serve(echo);
    client!.socket.resume();
    const rows = await Promise.all(answers);
    assert.deepEqual(
      rows.map((answer) => answer[0]!.v),
      values,
    );
    assert.equal(connection.pendingWriteBytes, 0);
  });

  it('rejects more than 65,535 parameters clearly, and the connection goes on', BOUNDED, async () => {
    const fake = await startServer(serving(echo));
    const { connection } = connect(fake);
    await assert.rejects(connection.query('select many', new Array<string>(65_536).fill('1')), /65535|65,535/);
    assert.deepEqual(await connection.query('select after', ['ok']), [{ after: 'ok' }]);
    assert.equal(connection.closed, false);
  });
});

/** The server's half of SCRAM-SHA-256, with a signature that cannot be right (or none at all). */
async function scramExchange(client: FakePgClient, how: { forgeSignature?: boolean; skipProof?: boolean }): Promise<void> {
  await client.write(backend.authentication(10, Buffer.from('SCRAM-SHA-256\0\0')));
  const initial = await client.next();
  const clientFirst = initial.body.toString('utf8', initial.body.indexOf(0) + 5);
  const clientNonce = /r=([^,]*)/.exec(clientFirst)![1]!;
  const serverFirst = `r=${clientNonce}server,s=${randomBytes(16).toString('base64')},i=4096`;
  await client.write(backend.authentication(11, Buffer.from(serverFirst)));
  await client.next(); // client-final-message with the proof, which we do not check
  if (how.forgeSignature) await client.write(backend.authentication(12, Buffer.from(`v=${randomBytes(32).toString('base64')}`)));
  await client.acceptLogin();
}
