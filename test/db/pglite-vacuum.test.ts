/**
 * The embedded database runs no autovacuum: every update or delete left its dead row versions behind for
 * good, so a long-running embedded server's tables (refresh tokens, storage objects, leaderboard records)
 * only grew, and every scan read the garbage too. Its periodic maintenance pass now vacuums the tables
 * autovacuum would (dead rows over 50 + 20% of the live ones), and the space is reused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PgliteDatabase } from '../../src/internal/db/pglite.js';
import { createPglite, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';

describe('embedded database maintenance', () => {
  let database: TestDatabase;

  before(async () => {
    // No timer: the test drives the pass itself. How often the timer runs it depends on the machine's speed
    // (a pass may hold the session for 1% of the time), which is refresh-lookup.test's subject, not this one's.
    database = await createPglite({ maintenanceIntervalMs: 0 });
  });
  after(async () => {
    await database?.drop();
  });

  const stats = async () => {
    const [row] = await database.db.operator('test stats', (tx) =>
      tx.query<{ dead: string; vacuums: string }>("select n_dead_tup as dead, vacuum_count as vacuums from pg_stat_user_tables where relname = 'tenants'"),
    );
    return { dead: Number(row?.dead ?? 0), vacuums: Number(row?.vacuums ?? 0) };
  };

  it('vacuums a table whose rows were rewritten, so the dead versions do not pile up', async () => {
    const before = await stats();
    await database.db.operator('test churn', async (tx) => {
      await tx.query("insert into tenants (name) select 'vacuum-' || g from generate_series(1, 500) g");
      for (let round = 0; round < 4; round++) await tx.query("update tenants set name = name || 'x' where name like 'vacuum-%'");
    });
    // 2,000 dead row versions against 500 live ones: well past autovacuum's threshold. The statistics
    // collector may report them a moment late, so the pass is repeated until it has seen them.
    const db = database.db;
    assert.ok(db instanceof PgliteDatabase);
    const vacuumed = async () => {
      await db.maintain();
      const now = await stats();
      return now.vacuums > before.vacuums && now.dead < 50;
    };
    await eventually(vacuumed, 60_000, 'the tenants table vacuumed');
  });
});
