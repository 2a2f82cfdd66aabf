/**
 * A PostgreSQL connection that dies in the middle of a transaction (its backend terminated, or the server
 * stopped) fails that transaction with a "database unavailable" error, and the pool serves the next one on
 * a fresh connection. Regression: postgres.js 3.4.x throws an uncatchable TypeError (socket.write on null,
 * porsager/postgres#1208) when a reserved connection is written to after its socket closed — our ROLLBACK
 * after the failure, or the next user of the connection once we released it — which killed the process.
 * Runs on a PostgreSQL of its own, so it can terminate backends and stop the server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import type { Database } from '../../src/internal/db/database.js';
import { isDatabaseUnavailable } from '../../src/internal/db/errors.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { openTestPostgres, testDriver } from '../support/db.js';
import { OwnPostgres } from '../support/services.js';
import { eventually } from '../support/eventually.js';

describe(`a connection lost in the middle of a transaction (own PostgreSQL, ${testDriver()})`, () => {
  let pg: OwnPostgres;
  let db: Database;
  let admin: postgres.Sql;
  const scope = { tenantId: '0' };

  before(async () => {
    pg = await OwnPostgres.create();
    // One connection: the lost one is the one the next transaction gets.
    db = await openTestPostgres({ url: pg.url, poolSize: 1, statementTimeoutMs: 10_000 });
    await migrateUp(db, await loadMigrations(migrationsDir));
    admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
  });

  after(async () => {
    await db?.close().catch(() => undefined);
    await admin?.end({ timeout: 1 }).catch(() => undefined);
    await pg?.destroy();
  });

  /** Terminates the backend running `marker` once it shows up (from the owner's own connection). */
  const terminateWhenRunning = (marker: string) =>
    eventually(
      async () => {
        const rows = await admin.unsafe(
          `select pg_terminate_backend(pid) as done from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`,
          [`%${marker}%`],
        );
        return rows.some((row) => row.done === true);
      },
      10_000,
      `the backend running ${marker}`,
    );

  const assertUnavailable = (error: unknown) => {
    assert.ok(isDatabaseUnavailable(error), `not mapped to 503: ${String((error as { code?: string }).code)} ${String(error)}`);
    return true;
  };

  /** The failure of a promise that may settle before the test awaits it (so it is never unhandled). */
  const failureOf = (work: Promise<unknown>): Promise<unknown> =>
    work.then(
      () => assert.fail('expected a failure'),
      (error: unknown) => error,
    );

  it('withTenant fails as unavailable, and the next transaction works', async () => {
    for (let round = 0; round < 3; round++) {
      const marker = `wt_lost_${round}`;
      const failing = failureOf(db.withTenant(scope, (tx) => tx.query(`select pg_sleep(5) as ${marker}`)));
      await terminateWhenRunning(marker);
      assertUnavailable(await failing);
      const rows = await db.withTenant(scope, (tx) => tx.query<{ one: number }>('select 1 as one'));
      assert.deepEqual(rows, [{ one: 1 }]);
    }
  });

  it('tenantQuery fails as unavailable, and the next query works', async () => {
    for (let round = 0; round < 3; round++) {
      const marker = `tq_lost_${round}`;
      const failing = failureOf(db.tenantQuery(scope, `select pg_sleep(5) as ${marker}`));
      await terminateWhenRunning(marker);
      assertUnavailable(await failing);
      assert.deepEqual(await db.tenantQuery(scope, 'select 1 as one'), [{ one: 1 }]);
    }
  });

  it('the operator path fails as unavailable, and the next transaction works', async () => {
    const failing = failureOf(db.operator('test', (tx) => tx.query('select pg_sleep(5) as op_lost')));
    await terminateWhenRunning('op_lost');
    assertUnavailable(await failing);
    assert.deepEqual(await db.operator('test', (tx) => tx.query('select 1 as one')), [{ one: 1 }]);
  });

  it('a server stopped under a transaction: unavailable while down, served again once it is back', async () => {
    const failing = failureOf(db.withTenant(scope, (tx) => tx.query('select pg_sleep(5) as stopped_under')));
    await eventually(
      async () => (await admin.unsafe(`select 1 from pg_stat_activity where query like '%stopped_under%' and pid <> pg_backend_pid()`)).length > 0,
      10_000,
      'the transaction running',
    );
    await pg.stop('immediate');
    assertUnavailable(await failing);
    await assert.rejects(db.tenantQuery(scope, 'select 1'), assertUnavailable);
    await pg.start();
    await eventually(
      async () => (await db.tenantQuery<{ one: number }>(scope, 'select 1 as one').catch(() => []))[0]?.one === 1,
      5_000,
      'a query after the restart',
    );
  });
});
