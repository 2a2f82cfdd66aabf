/**
 * The connection pool's bookkeeping (src/internal/db/postgres-pool.ts) against a scripted server
 * (test/support/fake-pg-server.ts): a bounded queue of waiters, the acquire timeout, a deadline that passes
 * while waiting or while a statement runs, leases that are dead once released, connections retired at the end
 * of their lifetime. Every path must leave the counts right: no slot leaked, a waiter served by a fresh
 * connection when one is destroyed. (Transaction state on release, on real PostgreSQL: pool-postgres.test.ts.)
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionPool, connectionLifetimeMs, MIN_DEFAULT_MAX_WAITING, type ConnectionPoolOptions, type Lease } from '../../src/internal/db/postgres-pool.js';
import { PgConnection } from '../../src/internal/db/wire/connection.js';
import { parseConnectionUrl } from '../../src/internal/db/wire/connection-options.js';
import { FakePgServer, type Answerer, type FakePgClient } from '../support/fake-pg-server.js';
import { eventually } from '../support/eventually.js';

let server: FakePgServer | undefined;
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close(1);
  pool = undefined;
  await server?.close();
  server = undefined;
});

const echo: Answerer = (text, params) => ({ columns: ['v'], rows: (params ?? []).map((value) => [value]) });

/** Clients whose index is in `frozen` log in and then never answer; the others answer with echo. */
async function start(options: Partial<ConnectionPoolOptions> = {}, frozen: number[] = []): Promise<{ fake: FakePgServer; pool: ConnectionPool }> {
  let accepted = 0;
  server = await FakePgServer.start(async (client: FakePgClient) => {
    const index = accepted++;
    await client.acceptLogin(1000 + index, 99);
    if (frozen.includes(index)) await client.ignoreAll();
    else await client.serve(echo);
  });
  const target = parseConnectionUrl(server.url(), {});
  pool = new ConnectionPool({
    size: 1,
    idleTimeoutMs: 60_000,
    create: (onClose) => new PgConnection(target, { connectTimeoutMs: 5_000, onClose }),
    ...options,
  });
  return { fake: server, pool };
}

/** A hang is a failure of its own test, not of the whole file. */
const BOUNDED = { timeout: 20_000 };

describe('the connection pool', () => {
  it('bounds its waiters: past maxWaiting an acquire fails at once with POOL_QUEUE_FULL', BOUNDED, async () => {
    const { pool } = await start({ maxWaiting: 2 });
    const held = await pool.acquire();
    const first = pool.acquire();
    const second = pool.acquire();
    await assert.rejects(pool.acquire(), { code: 'POOL_QUEUE_FULL' });
    assert.deepEqual(pool.stats(), { open: 1, idle: 0, waiting: 2 });
    held.release();
    const next = await first;
    next.release();
    (await second).release();
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('defaults maxWaiting to four times its size, and never under MIN_DEFAULT_MAX_WAITING', BOUNDED, async () => {
    for (const size of [1, 100]) {
      const { pool } = await start({ size });
      const held = await Promise.all(Array.from({ length: size }, () => pool.acquire()));
      const bound = Math.max(4 * size, MIN_DEFAULT_MAX_WAITING);
      const waiters = Array.from({ length: bound }, () => pool.acquire());
      await assert.rejects(pool.acquire(), { code: 'POOL_QUEUE_FULL' });
      for (const lease of held) lease.release();
      for (const waiter of waiters) (await waiter).release();
      await pool.close(1);
      await server!.close();
    }
  });

  it('fails an acquire that waits past acquireTimeoutMs with POOL_TIMEOUT', BOUNDED, async () => {
    const { pool } = await start({ acquireTimeoutMs: 100 });
    const held = await pool.acquire();
    const started = Date.now();
    await assert.rejects(pool.acquire(), { code: 'POOL_TIMEOUT' });
    assert.ok(Date.now() - started < 5_000);
    assert.equal(pool.stats().waiting, 0);
    held.release();
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('a signal that aborts while waiting removes the waiter and fails with DEADLINE_EXCEEDED', BOUNDED, async () => {
    const { pool } = await start();
    const held = await pool.acquire();
    const deadline = new AbortController();
    const waiting = pool.acquire(deadline.signal);
    assert.equal(pool.stats().waiting, 1);
    deadline.abort();
    await assert.rejects(waiting, { code: 'DEADLINE_EXCEEDED' });
    assert.equal(pool.stats().waiting, 0);
    await assert.rejects(pool.acquire(deadline.signal), { code: 'DEADLINE_EXCEEDED' });
    held.release();
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('a statement whose signal aborts: rejected at once, the connection destroyed, and the waiter gets a fresh one', BOUNDED, async () => {
    const { fake, pool } = await start({}, [0]);
    const lease = await pool.acquire();
    const deadline = new AbortController();
    const running = lease.query('select forever', [], deadline.signal);
    const waiter = pool.acquire();
    await eventually(() => fake.clients[0]?.received.some((message) => message.type === 'S') === true, 5_000, 'the statement sent');
    deadline.abort();
    await assert.rejects(running, { code: 'DEADLINE_EXCEEDED' });
    await lease.rollback(); // a no-op on a destroyed connection, as withTenant's error path calls it
    lease.release();
    const fresh = await waiter;
    assert.deepEqual(await fresh.query('select v', ['after']), [{ v: 'after' }]);
    assert.equal(fake.clients.length, 2);
    await eventually(() => fake.cancelRequests.length === 1, 5_000, 'the CancelRequest');
    assert.deepEqual(fake.cancelRequests[0], { processId: 1000, secretKey: 99, sslRequested: false });
    fresh.release();
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('a lease released with a statement in flight does not hand its connection on', BOUNDED, async () => {
    const { fake, pool } = await start({}, [0]);
    const lease = await pool.acquire();
    const abandoned = lease.query('select never', []);
    abandoned.catch(() => undefined);
    await eventually(() => fake.clients[0]?.received.some((message) => message.type === 'S') === true, 5_000, 'the statement sent');
    lease.release();
    await assert.rejects(abandoned);
    const next = await pool.acquire();
    assert.deepEqual(await next.query('select v', ['fresh']), [{ v: 'fresh' }]);
    assert.equal(fake.clients.length, 2);
    next.release();
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('a ROLLBACK that fails destroys the connection rather than keep a transaction open', BOUNDED, async () => {
    // The first connection says it is in a transaction after every unit, and refuses ROLLBACK.
    let accepted = 0;
    server = await FakePgServer.start(async (client: FakePgClient) => {
      const first = accepted++ === 0;
      await client.acceptLogin();
      await client.serve(
        (text, params) => (first && text === 'rollback' ? { error: { code: 'XX000', message: 'rollback failed' } } : echo(text, params)),
        () => (first ? 'T' : 'I'),
      );
    });
    const target = parseConnectionUrl(server.url(), {});
    pool = new ConnectionPool({ size: 1, idleTimeoutMs: 60_000, create: (onClose) => new PgConnection(target, { connectTimeoutMs: 5_000, onClose }) });
    const lease = await pool.acquire();
    await lease.query('begin');
    await lease.rollback(); // does not throw: the caller is busy with the failure that made it roll back
    const fake = server;
    await eventually(() => fake.clients[0]!.socket.destroyed || fake.clients[0]!.socket.readableEnded, 5_000, 'the connection closed');
    lease.release();
    const next = await pool.acquire();
    assert.deepEqual(await next.query('select v', ['fresh']), [{ v: 'fresh' }]);
    assert.equal(fake.clients.length, 2);
    next.release();
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('a released lease cannot be used: every method fails with LEASE_RELEASED', BOUNDED, async () => {
    const { pool } = await start();
    const lease: Lease = await pool.acquire();
    assert.deepEqual(await lease.query('select v', ['1']), [{ v: '1' }]);
    lease.release();
    lease.release(); // twice is harmless
    await assert.rejects(lease.query('select v', ['2']), { code: 'LEASE_RELEASED' });
    await assert.rejects(lease.pipeline([['select v', ['3']]]), { code: 'LEASE_RELEASED' });
    await assert.rejects(lease.rollback(), { code: 'LEASE_RELEASED' });
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('retires a connection past its maximum lifetime when it is released', BOUNDED, async () => {
    const { fake, pool } = await start({ maxLifetimeMs: 100 });
    await eventually(
      async () => {
        const lease = await pool.acquire();
        try {
          await lease.query('select v', ['x']);
        } finally {
          lease.release();
        }
        return fake.clients.length >= 2;
      },
      10_000,
      'a second connection',
    );
    // The first was closed politely (Terminate), not reused.
    await eventually(() => fake.clients[0]!.received.some((message) => message.type === 'X'), 5_000, 'the Terminate');
    assert.equal(pool.stats().open, 1);
  });

  it('gives each connection its lifetime within ±10% of maxLifetimeMs', BOUNDED, () => {
    assert.equal(connectionLifetimeMs(1_000, () => 0), 900);
    assert.equal(connectionLifetimeMs(1_000, () => 0.5), 1_000);
    assert.ok(connectionLifetimeMs(1_000, () => 0.999_999) <= 1_100);
    assert.equal(connectionLifetimeMs(0, () => 0.5), Infinity);
  });
});
