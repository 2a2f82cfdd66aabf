/**
 * The background clean-up of leaderboards: the records of deleted boards go (the sweeper), and so do their
 * submits' expired Idempotency-Keys (the idempotency module's purge, which took that part over).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { LeaderboardService, leaderboardStores } from '../../src/modules/leaderboards/leaderboard-service.js';
import { MemoryRankIndex } from '../../src/modules/leaderboards/memory-rank-index.js';
import { LeaderboardSweeper } from '../../src/modules/leaderboards/sweeper.js';
import { IdempotencyKeyStore } from '../../src/modules/idempotency/key-store.js';
import { IdempotencyPurge } from '../../src/modules/idempotency/purge.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { LogCapture } from '../support/app.js';
import { boardId, client, json, newBoard, projectWithPlayers } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`leaderboard sweeper (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { LEADERBOARD_PURGE_INTERVAL_SECONDS: '0', IDEMPOTENCY_PURGE_INTERVAL_SECONDS: '0' } });
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    const count = async (sql: string, params: string[] = []) =>
      Number((await database.db.operator('test', (tx) => tx.query<{ n: string }>(sql, params)))[0]!.n);

    it('purges idempotency records older than 24 h and records of deleted boards left behind', async () => {
      const { project, players } = await projectWithPlayers(t.app, 2);
      const api = client(t.app);
      const board = await newBoard(t.app, project, { id: boardId('swept'), sort: 'desc', operator: 'best' });
      for (const player of players) json(await api.submit(player.accessToken, board, { score: 1 }, { 'idempotency-key': `k-${player.playerId}` }));
      // A crash between "deleted" and "purged": the tombstone and its records are still there.
      await database.db.operator('test: a board deleted by a node that then stopped', (tx) =>
        tx.query(`update leaderboards set deleted_at = now() where id = $1`, [board]),
      );
      await database.db.operator('test: age one key', (tx) =>
        tx.query(`update idempotency_keys set created_at = now() - interval '25 hours' where key = $1`, [`k-${players[0]!.playerId}`]),
      );
      const logger = createLogger({ level: 'silent', destination: new LogCapture() });
      const index = new MemoryRankIndex({ source: async () => [] });
      const service = new LeaderboardService(database.db, leaderboardStores(database.db, 0), index, logger, new IdempotencyKeyStore(database.db));
      await new LeaderboardSweeper(database.db, service, logger, 0).pass();
      await new IdempotencyPurge(database.db, logger, { intervalMs: 0 }).pass();
      assert.equal(await count(`select count(*) as n from idempotency_keys where operation = 'leaderboards.submit'`), 1, 'only the fresh key is left');
      assert.equal(await count(`select count(*) as n from leaderboard_records r join leaderboards b on b.uid = r.board_uid where b.id = $1`, [board]), 0);
      assert.equal(await count('select count(*) as n from leaderboards where id = $1', [board]), 0, 'the tombstone is gone too');
    });
  });
}
