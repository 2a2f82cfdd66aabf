/**
 * Regression (found by bench/leaderboards.ts): a player's rank read looked its record up with
 * `player_id = any($5::bigint[])` and a one-element array. For that statement the generic plan's estimate
 * (ten rows from an array of unknown length) always lost to a custom plan for the one element, so
 * PostgreSQL planned it again on every execution: ~0.3 ms of server CPU per rank read, which halved the
 * rank throughput. The record read now has a statement of its own that settles on a generic plan, as every
 * prepared statement on the request path should. PostgreSQL only: the embedded database prepares no named
 * statements, so it has no plan cache to inspect.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PostgresDriverDatabase } from '../../src/internal/db/open.js';
import { RecordStore } from '../../src/modules/leaderboards/record-store.js';
import { databaseKinds, openTestPostgres, type TestDatabase } from '../support/db.js';

const PLAYERS = 2_000;
const READS = 12;

for (const kind of databaseKinds().filter((k) => k.name === 'postgres')) {
  describe(`leaderboard record reads and the plan cache (${kind.name})`, () => {
    let database: TestDatabase;
    // One connection, so every read below is prepared in the session whose plan cache we inspect.
    let session: PostgresDriverDatabase;
    const scope = { tenantId: '', projectId: '' };
    let boardUid = '';
    let firstPlayer = 0;

    before(async () => {
      database = await kind.create();
      await database.db.operator('test seed', async (tx) => {
        const [tenant] = await tx.query<{ id: string }>("insert into tenants (name) values ('plan-cache') returning id");
        const [project] = await tx.query<{ id: string }>("insert into projects (tenant_id, name) values ($1, 'game') returning id", [tenant!.id]);
        scope.tenantId = String(tenant!.id);
        scope.projectId = String(project!.id);
        const [range] = await tx.query<{ first: string }>(
          `with made as (insert into players (tenant_id, project_id) select $1, $2 from generate_series(1, $3::int) returning id)
           select min(id) as first from made`,
          [scope.tenantId, scope.projectId, PLAYERS],
        );
        firstPlayer = Number(range!.first);
        const [board] = await tx.query<{ uid: string }>(
          "insert into leaderboards (tenant_id, project_id, id, sort, operator) values ($1, $2, 'b', 'desc', 'best') returning uid",
          [scope.tenantId, scope.projectId],
        );
        boardUid = String(board!.uid);
        await tx.query(
          `insert into leaderboard_records (tenant_id, project_id, board_uid, period, player_id, score, subscore, seq)
           select tenant_id, project_id, $3, 0, id, id % 1000, 0, nextval('leaderboard_record_seq') from players where tenant_id = $1 and project_id = $2`,
          [scope.tenantId, scope.projectId, boardUid],
        );
        await tx.query('analyze');
      });
      assert.ok(database.url, 'a PostgreSQL test database has a url');
      session = await openTestPostgres({ url: database.url, poolSize: 1, statementTimeoutMs: 10_000 });
    });

    after(async () => {
      await session?.close();
      await database?.drop();
    });

    it('one player’s record read settles on a generic plan instead of being planned on every execution', async () => {
      const records = new RecordStore(session);
      for (let i = 0; i < READS; i++) {
        const row = await records.get(scope, boardUid, '0', String(firstPlayer + i));
        assert.equal(String(row?.player_id), String(firstPlayer + i));
      }
      const statements = await session.tenantQuery<{ statement: string; generic_plans: string; custom_plans: string }>(
        scope,
        "select statement, generic_plans, custom_plans from pg_prepared_statements where statement like '%from leaderboard_records r%' and statement not like '%pg_prepared_statements%'",
      );
      assert.ok(statements.length > 0, 'the record read prepared no statement');
      for (const statement of statements) {
        // PostgreSQL tries five custom plans before it compares them with the generic one.
        assert.ok(Number(statement.custom_plans) <= 5, `planned ${statement.custom_plans} times in ${READS} reads: ${statement.statement}`);
        assert.ok(Number(statement.generic_plans) >= READS - 5, `generic plan used ${statement.generic_plans} times: ${statement.statement}`);
      }
    });
  });
}
