/**
 * The pool and wire client against real PostgreSQL: a connection released inside a transaction is never handed
 * to the next caller; cached prepared statements survive a schema change (0A000) and DEALLOCATE (26000); the
 * 65,535-parameter limit; a deadline or the unit timeout cancels the running statement server-side.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionPool, type ConnectionPoolOptions, type Lease } from '../../src/internal/db/postgres-pool.js';
import { PgConnection } from '../../src/internal/db/wire/connection.js';
import { parseConnectionUrl } from '../../src/internal/db/wire/connection-options.js';
import { createPostgres, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';

const url = process.env.DATABASE_URL;

describe('the pool on real PostgreSQL', { skip: url ? false : 'needs DATABASE_URL' }, () => {
  let database: TestDatabase;
  let watcher: ConnectionPool;
  const pools: ConnectionPool[] = [];

  const open = (options: Partial<ConnectionPoolOptions> & { unitTimeoutMs?: number } = {}) => {
    const target = parseConnectionUrl(database.url!, { application_name: 'ggscale-pool-test' });
    const { unitTimeoutMs, ...poolOptions } = options;
    const pool = new ConnectionPool({
      size: 1,
      idleTimeoutMs: 60_000,
      create: (onClose) => new PgConnection(target, { connectTimeoutMs: 5_000, onClose, ...(unitTimeoutMs ? { unitTimeoutMs } : {}) }),
      ...poolOptions,
    });
    pools.push(pool);
    return pool;
  };

  const using = async <T>(pool: ConnectionPool, work: (lease: Lease) => Promise<T>): Promise<T> => {
    const lease = await pool.acquire();
    try {
      return await work(lease);
    } finally {
      lease.release();
    }
  };

  const backendPid = (lease: Lease) => lease.query<{ pid: number }>('select pg_backend_pid() as pid').then(([row]) => row!.pid);

  /** Whether a backend is still running a statement containing `marker`. */
  const running = (marker: string) =>
    using(watcher, (lease) => lease.query<{ n: string }>("select count(*) as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid() and state = 'active'", [`%${marker}%`])).then(
      ([row]) => row!.n !== '0',
    );

  before(async () => {
    database = await createPostgres(url!);
    watcher = open();
    await using(watcher, (lease) => lease.query('create table pool_probe (n int)'));
  });
  after(async () => {
    for (const pool of pools) await pool.close(1);
    await database?.drop();
  });

  it('a lease released inside BEGIN is discarded: the next one is idle, and the uncommitted insert is gone', async () => {
    const pool = open();
    const lease = await pool.acquire();
    const firstPid = await backendPid(lease);
    await lease.query('begin');
    await lease.query('insert into pool_probe values (1)');
    lease.release();
    await using(pool, async (next) => {
      assert.notEqual(await backendPid(next), firstPid);
      assert.deepEqual(await next.query('select count(*)::int as n from pool_probe'), [{ n: 0 }]);
      // Not in a transaction: a COMMIT here only warns, and commits nothing.
      await next.query('commit');
    });
    assert.deepEqual(await using(watcher, (other) => other.query('select count(*)::int as n from pool_probe')), [{ n: 0 }]);
  });

  it('a lease released in a failed transaction is discarded too', async () => {
    const pool = open();
    const lease = await pool.acquire();
    const firstPid = await backendPid(lease);
    await lease.query('begin');
    await assert.rejects(lease.query('select 1/0'), { code: '22012' });
    lease.release();
    await using(pool, async (next) => {
      assert.notEqual(await backendPid(next), firstPid);
      assert.deepEqual(await next.query('select 1 as one'), [{ one: 1 }]);
    });
  });

  it('a clean lease hands its connection on', async () => {
    const pool = open();
    const firstPid = await using(pool, backendPid);
    assert.equal(await using(pool, backendPid), firstPid);
  });

  it('a cached statement whose result type changed (0A000) is prepared again, transparently outside a transaction', async () => {
    const pool = open();
    await using(pool, (lease) => lease.query('create table pool_shape (n int)'));
    await using(pool, (lease) => lease.query('insert into pool_shape values (1)'));
    await using(pool, async (lease) => {
      assert.deepEqual(await lease.query('select * from pool_shape'), [{ n: 1 }]);
      await lease.query('alter table pool_shape add column m int default 7');
      assert.deepEqual(await lease.query('select * from pool_shape'), [{ n: 1, m: 7 }]);
      // Inside a transaction it cannot be retried for the caller, but the next use prepares it afresh.
      await lease.query('alter table pool_shape add column k text default $$k$$');
      await lease.query('begin');
      await assert.rejects(lease.query('select * from pool_shape'), { code: '0A000' });
      await lease.query('rollback');
      assert.deepEqual(await lease.query('select * from pool_shape'), [{ n: 1, m: 7, k: 'k' }]);
    });
  });

  it('a cached statement the server forgot (26000, after DEALLOCATE ALL) is prepared again', async () => {
    const pool = open();
    await using(pool, async (lease) => {
      assert.deepEqual(await lease.query('select 41 + 1 as answer'), [{ answer: 42 }]);
      await lease.query('deallocate all');
      assert.deepEqual(await lease.query('select 41 + 1 as answer'), [{ answer: 42 }]);
    });
  });

  it('65,535 parameters work; 65,536 fail clearly and the connection goes on', async () => {
    const pool = open();
    await using(pool, async (lease) => {
      const pid = await backendPid(lease);
      const placeholders = (count: number) => Array.from({ length: count }, (_, i) => `$${i + 1}`).join(',');
      const [row] = await lease.query<{ n: number }>(`select cardinality(array[${placeholders(65_535)}]::int[]) as n`, new Array<number>(65_535).fill(1));
      assert.equal(row!.n, 65_535);
      await assert.rejects(lease.query(`select cardinality(array[${placeholders(65_536)}]::int[]) as n`, new Array<number>(65_536).fill(1)), /65,?535/);
      assert.equal(await backendPid(lease), pid);
    });
  });

  it('a deadline that passes during a statement: rejected at once, the statement cancelled, nothing committed', async () => {
    const pool = open();
    const lease = await pool.acquire();
    const deadline = new AbortController();
    await lease.query('begin', [], deadline.signal);
    await lease.query('insert into pool_probe values (2)', [], deadline.signal);
    const sleeping = lease.query('select pg_sleep(30) as deadline_probe', [], deadline.signal);
    await eventually(() => running('deadline_probe'), 10_000, 'the statement running');
    const aborted = Date.now();
    deadline.abort();
    await assert.rejects(sleeping, { code: 'DEADLINE_EXCEEDED' });
    assert.ok(Date.now() - aborted < 1_000);
    lease.release();
    await eventually(async () => !(await running('deadline_probe')), 10_000, 'the statement cancelled');
    assert.deepEqual(await using(pool, (next) => next.query('select count(*)::int as n from pool_probe')), [{ n: 0 }]);
    assert.deepEqual(pool.stats(), { open: 1, idle: 1, waiting: 0 });
  });

  it('the unit timeout cancels a statement that outlives it and fails as a lost connection', async () => {
    const pool = open({ unitTimeoutMs: 300 });
    await assert.rejects(
      using(pool, (lease) => lease.query('select pg_sleep(30) as unit_timeout_probe')),
      { code: 'ETIMEDOUT' },
    );
    await eventually(async () => !(await running('unit_timeout_probe')), 10_000, 'the statement cancelled');
    assert.deepEqual(await using(pool, (lease) => lease.query('select 1 as one')), [{ one: 1 }]);
  });

  it('retires a connection past its maximum lifetime', async () => {
    const pool = open({ maxLifetimeMs: 100 });
    const firstPid = await using(pool, backendPid);
    await eventually(async () => (await using(pool, backendPid)) !== firstPid, 10_000, 'a new backend');
  });
});
