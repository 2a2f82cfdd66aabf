/**
 * The postgres.js driver's pool (src/internal/db/postgres-js-pool.ts) on real PostgreSQL: a bounded queue of
 * waiters, an acquire timeout, and the request's deadline (src/internal/deadline.ts), which ends the wait for
 * a connection, or the transaction: rejected at once, the statement cancelled on the server, the connection
 * dropped so that the server rolls the transaction back, never handed on mid-transaction. Every path leaves
 * the counts right. Work without a deadline still gives up on a server that stopped answering.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { withDeadline } from '../../src/internal/deadline.js';
import type { PostgresDriverDatabase } from '../../src/internal/db/open.js';
import { isDatabaseUnavailable } from '../../src/internal/db/errors.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { createPostgres, openTestPostgres, type TestDatabase } from '../support/db.js';
import { OwnPostgres, skipUnlessServices } from '../support/services.js';
import { eventually } from '../support/eventually.js';

const url = process.env.DATABASE_URL;
const scope = { tenantId: '1' };
/** Generous: the machine is shared; "at once" means long before the statement or the wait would end. */
const AT_ONCE_MS = 1_500;

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function elapsed<T>(work: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await work.then(
    () => assert.fail('expected a failure'),
    (failure: unknown) => failure,
  );
  return { error, ms: performance.now() - started };
}

/** A transaction that writes `n`, then waits inside the database (`sleep`) or on `held`. */
const createTable = (db: PostgresDriverDatabase) =>
  db.operator('test table', async (tx) => {
    await tx.query('create table if not exists pool_probe (n int primary key)');
    await tx.query('grant all on pool_probe to ggscale_app');
  });
const written = async (db: PostgresDriverDatabase, n: number) => (await db.operator('test read', (tx) => tx.query('select n from pool_probe where n = $1', [n]))).length > 0;

describe('the postgres.js pool on PostgreSQL', { skip: url ? false : 'needs DATABASE_URL' }, () => {
  let database: TestDatabase;
  let admin: postgres.Sql;
  const opened: PostgresDriverDatabase[] = [];
  const open = async (options: { maxWaiting?: number; acquireTimeoutMs?: number } = {}) => {
    const db = await openTestPostgres({ url: database.url!, poolSize: 1, statementTimeoutMs: 30_000, ...options }, 'postgres.js');
    opened.push(db);
    return db;
  };

  before(async () => {
    database = await createPostgres(url!, 'postgres.js');
    await createTable(database.db as PostgresDriverDatabase);
    admin = postgres(database.url!, { max: 1, onnotice: () => undefined });
  });
  after(async () => {
    for (const db of opened) await db.close();
    await admin?.end();
    await database?.drop();
  });

  it('bounds its waiters: past maxWaiting a caller fails at once with POOL_QUEUE_FULL', async () => {
    const db = await open({ maxWaiting: 2 });
    const held = gate();
    const holder = db.withTenant(scope, () => held.opened);
    await eventually(async () => db.poolStats().inUse === 1, 5_000, 'the connection held');
    const waiting = [db.tenantQuery(scope, 'select 1 as one'), db.tenantQuery(scope, 'select 2 as two')];
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 1, waiting: 2 });
    const { error, ms } = await elapsed(db.tenantQuery(scope, 'select 3'));
    assert.equal((error as { code?: string }).code, 'POOL_QUEUE_FULL');
    assert.ok(isDatabaseUnavailable(error));
    assert.ok(ms < AT_ONCE_MS, `${ms} ms`);
    held.open();
    await holder;
    assert.deepEqual(await Promise.all(waiting), [[{ one: 1 }], [{ two: 2 }]]);
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 0, waiting: 0 });
  });

  it('fails a caller that waits past acquireTimeoutMs with POOL_TIMEOUT', async () => {
    const db = await open({ acquireTimeoutMs: 200 });
    const held = gate();
    const holder = db.withTenant(scope, () => held.opened);
    await eventually(async () => db.poolStats().inUse === 1, 5_000, 'the connection held');
    const { error, ms } = await elapsed(db.tenantQuery(scope, 'select 1'));
    assert.equal((error as { code?: string }).code, 'POOL_TIMEOUT');
    assert.ok(ms < 200 + AT_ONCE_MS, `${ms} ms`);
    assert.equal(db.poolStats().waiting, 0);
    held.open();
    await holder;
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 0, waiting: 0 });
  });

  it('a deadline that passes while waiting for a connection: DEADLINE_EXCEEDED at once, the waiter gone', async () => {
    const db = await open();
    const held = gate();
    const holder = db.withTenant(scope, () => held.opened);
    await eventually(async () => db.poolStats().inUse === 1, 5_000, 'the connection held');
    const deadline = new AbortController();
    const waiting = elapsed(withDeadline(deadline.signal, () => db.tenantQuery(scope, 'select 1')));
    assert.equal(db.poolStats().waiting, 1);
    deadline.abort();
    const { error, ms } = await waiting;
    assert.equal((error as { code?: string }).code, 'DEADLINE_EXCEEDED');
    assert.ok(ms < AT_ONCE_MS, `${ms} ms`);
    assert.equal(db.poolStats().waiting, 0);
    // Already passed: refused before it waits.
    await assert.rejects(withDeadline(deadline.signal, () => db.tenantQuery(scope, 'select 1')), { code: 'DEADLINE_EXCEEDED' });
    held.open();
    await holder;
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 0, waiting: 0 });
  });

  it('a deadline that passes during a statement: rejected at once, the statement cancelled, nothing committed', async () => {
    const db = await open();
    const deadline = new AbortController();
    const running = elapsed(
      withDeadline(deadline.signal, () =>
        db.withTenant(scope, async (tx) => {
          await tx.query('insert into pool_probe (n) values (1)');
          await tx.query('select pg_sleep(30) as deadline_marker');
        }),
      ),
    );
    const busy = "select count(*)::int as n from pg_stat_activity where query like '%deadline_marker%' and state = 'active' and pid <> pg_backend_pid()";
    await eventually(async () => (await admin.unsafe(busy))[0]!.n === 1, 10_000, 'the statement running');
    deadline.abort();
    const { error, ms } = await running;
    assert.equal((error as { code?: string }).code, 'DEADLINE_EXCEEDED');
    assert.ok(ms < AT_ONCE_MS, `${ms} ms`);
    // The server stops the statement (CancelRequest), not 30 s later.
    await eventually(async () => (await admin.unsafe(busy))[0]!.n === 0, 5_000, 'the statement cancelled');
    assert.equal(await written(db, 1), false);
    assert.deepEqual(await db.tenantQuery(scope, 'select 1 as one'), [{ one: 1 }]);
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 0, waiting: 0 });
  });

  it('a deadline that passes while the transaction waits on something else: rejected at once, rolled back', async () => {
    const db = await open();
    const deadline = new AbortController();
    const never = gate();
    const running = elapsed(
      withDeadline(deadline.signal, () =>
        db.withTenant(scope, async (tx) => {
          await tx.query('insert into pool_probe (n) values (2)');
          await never.opened;
          await tx.query('insert into pool_probe (n) values (3)');
        }),
      ),
    );
    await eventually(async () => (await admin.unsafe("select 1 from pg_stat_activity where state = 'idle in transaction' and pid <> pg_backend_pid()")).length === 1, 10_000, 'the transaction open');
    deadline.abort();
    const { error, ms } = await running;
    assert.equal((error as { code?: string }).code, 'DEADLINE_EXCEEDED');
    assert.ok(ms < AT_ONCE_MS, `${ms} ms`);
    // The work goes on without its connection: its next statement fails, and nothing was committed.
    never.open();
    await eventually(async () => !(await written(db, 2)) && !(await written(db, 3)), 2_000, 'nothing committed');
    assert.equal(await written(db, 3), false);
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 0, waiting: 0 });
  });
});

describe('the postgres.js driver and a frozen backend (own PostgreSQL)', { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  let db: PostgresDriverDatabase;
  let admin: postgres.Sql;
  let frozenPid = 0;

  before(async () => {
    pg = await OwnPostgres.create();
    db = await openTestPostgres({ url: pg.url, poolSize: 1, statementTimeoutMs: 30_000 }, 'postgres.js');
    await migrateUp(db, await loadMigrations(migrationsDir));
    await createTable(db);
    admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
  });
  after(async () => {
    if (frozenPid) process.kill(frozenPid, 'SIGCONT');
    await db?.close();
    await admin?.end({ timeout: 1 });
    await pg?.destroy();
  });

  it('answers at once when the deadline passes, and the server rolls the transaction back once it thaws', async () => {
    const deadline = new AbortController();
    const frozen = gate();
    const running = elapsed(
      withDeadline(deadline.signal, () =>
        db.withTenant(scope, async (tx) => {
          const [me] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
          frozenPid = me!.pid;
          await tx.query('insert into pool_probe (n) values (10)');
          process.kill(frozenPid, 'SIGSTOP');
          frozen.open();
          // Never answered while the backend is stopped.
          await tx.query('insert into pool_probe (n) values (11)');
        }),
      ),
    );
    await frozen.opened;
    deadline.abort();
    const { error, ms } = await running;
    assert.equal((error as { code?: string }).code, 'DEADLINE_EXCEEDED');
    assert.ok(ms < AT_ONCE_MS, `${ms} ms`);
    // A fresh connection serves the next transaction while the old backend is still stopped.
    assert.deepEqual(await db.tenantQuery(scope, 'select 1 as one'), [{ one: 1 }]);
    process.kill(frozenPid, 'SIGCONT');
    const thawed = frozenPid;
    frozenPid = 0;
    await eventually(async () => (await admin`select 1 from pg_stat_activity where pid = ${thawed}`).length === 0, 10_000, 'the old backend gone');
    assert.deepEqual(await db.operator('test read', (tx) => tx.query('select n from pool_probe where n in (10, 11)')), []);
    assert.deepEqual(db.poolStats(), { max: 1, inUse: 0, waiting: 0 });
  });

  it('without a deadline, gives up on a statement unanswered long past statement_timeout (ETIMEDOUT, a 503)', async () => {
    const statementTimeoutMs = 500;
    const background = await openTestPostgres({ url: pg.url, poolSize: 1, statementTimeoutMs }, 'postgres.js');
    try {
      const running = elapsed(
        background.withTenant(scope, async (tx) => {
          const [me] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
          frozenPid = me!.pid;
          await tx.query('insert into pool_probe (n) values (20)');
          process.kill(frozenPid, 'SIGSTOP');
          await tx.query('insert into pool_probe (n) values (21)');
        }),
      );
      const { error, ms } = await running;
      assert.equal((error as { code?: string }).code, 'ETIMEDOUT');
      assert.ok(isDatabaseUnavailable(error));
      // statement_timeout + 5 s, and slack for a busy machine; not the minutes of TCP keepalive.
      assert.ok(ms >= statementTimeoutMs + 4_000 && ms < statementTimeoutMs + 5_000 + 5_000, `${ms} ms`);
      assert.deepEqual(await background.tenantQuery(scope, 'select 1 as one'), [{ one: 1 }]);
    } finally {
      if (frozenPid) process.kill(frozenPid, 'SIGCONT');
      frozenPid = 0;
      await background.close();
    }
    assert.deepEqual(await db.operator('test read', (tx) => tx.query('select n from pool_probe where n in (20, 21)')), []);
  });
});
