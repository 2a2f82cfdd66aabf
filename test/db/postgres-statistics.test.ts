/**
 * Where PostgreSQL runs with autovacuum = off (this machine's server does), nothing would ever give ggscale's
 * tables planner statistics, and lookups that share an index prefix with another index read every row of
 * their project (test/auth/refresh-lookup.test.ts; the soak's refreshes slowed to 300 ms). The server then
 * analyzes its own tables when their rows change. Where autovacuum is on, it leaves them to the server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PostgresDriverDatabase } from '../../src/internal/db/open.js';
import { createPostgres, openTestPostgres, testDriver, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';

const url = process.env.DATABASE_URL;

describe(`planner statistics on PostgreSQL (${testDriver()})`, { skip: url ? false : 'needs DATABASE_URL' }, () => {
  let database: TestDatabase;
  let db: PostgresDriverDatabase;
  const messages: string[] = [];

  before(async () => {
    database = await createPostgres(url!);
    db = await openTestPostgres({
      url: database.url!,
      poolSize: 2,
      statementTimeoutMs: 10_000,
      maintenanceIntervalMs: 200,
      onMaintenance: (message) => messages.push(message),
    });
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  const lastAnalyze = async () => {
    const [row] = await db.operator('test stats', (tx) =>
      tx.query<{ analyzed: Date | null; autovacuum: string }>(
        "select last_analyze as analyzed, current_setting('autovacuum') as autovacuum from pg_stat_user_tables where relname = 'tenants'",
      ),
    );
    return row!;
  };

  it('analyzes a table whose rows changed when autovacuum is off, and leaves it alone when it is on', async () => {
    await db.operator('test rows', (tx) => tx.query("insert into tenants (name) select 'stats-' || g from generate_series(1, 200) g"));
    const { autovacuum } = await lastAnalyze();
    if (autovacuum === 'off') {
      await eventually(async () => (await lastAnalyze()).analyzed !== null, 30_000, 'tenants analyzed by ggscale');
      assert.equal(messages.length, 1);
      assert.match(messages[0]!, /autovacuum = off/);
    } else {
      // last_analyze is a manual ANALYZE's (autovacuum's own is last_autoanalyze): ours never came.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal((await lastAnalyze()).analyzed, null);
      assert.deepEqual(messages, []);
    }
  });
});
