/** Concurrent submits and Idempotency-Key: exact sums, consistent ranks, retries that change nothing. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, boardId, client, dropIndexKeys, indexKinds, json, newBoard, projectWithPlayers, type Scores } from './helpers.js';

interface Answer {
  player_id: string;
  score: number | string;
  rank: number;
  updated_at: string;
}

for (const kind of databaseKinds()) for (const index of indexKinds()) {
  describe(`leaderboard submits (${kind.name}, ${index.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    let players: TestPlayer[];
    let api: ReturnType<typeof client>;
    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: index.env });
      api = client(t.app);
      ({ project, players } = await projectWithPlayers(t.app, 30));
    });
    after(async () => {
      await t.close();
      await database.drop();
      await dropIndexKeys(index.env);
    });

    it('100 parallel incr submits by one player add up exactly', async () => {
      const board = await newBoard(t.app, project, { id: boardId('sum'), sort: 'desc', operator: 'incr' });
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => api.submit(players[0]!.accessToken, board, { score: 3, subscore: 1 })),
      );
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      // Each answer saw a distinct running total: the 100 increments were applied one after another.
      const totals = answers.map((res) => res.json<Answer>().score as number).sort((a, b) => a - b);
      assert.deepEqual(totals, Array.from({ length: 100 }, (_, i) => 3 * (i + 1)));
      const record = json<{ score: number; subscore: number; rank: number }>(await api.record(project.secretKey, board, players[0]!.playerId));
      assert.deepEqual([record.score, record.subscore, record.rank], [300, 100, 1]);
    });

    it('parallel submits of many players give one consistent ranking, the same in every read', async () => {
      const board = await newBoard(t.app, project, { id: boardId('crowd'), sort: 'desc', operator: 'best' });
      // Three rounds per player, all at once; the best of each player's rounds is what counts.
      const scoreOf = (i: number, round: number) => ((i * 37 + round * 11) % 17) * 10;
      await Promise.all(
        players.flatMap((player, i) => [0, 1, 2].map((round) => api.submit(player.accessToken, board, { score: scoreOf(i, round) }))),
      ).then((all) => all.forEach((res) => assert.equal(res.statusCode, 200, res.body)));
      const best = players.map((_, i) => Math.max(scoreOf(i, 0), scoreOf(i, 1), scoreOf(i, 2)));
      const items = json<Scores>(await api.scores(project.secretKey, board, '?limit=100')).items;
      assert.equal(items.length, players.length);
      assert.deepEqual(items.map((x) => x.rank), players.map((_, i) => i + 1));
      for (let i = 1; i < items.length; i++) assert.ok((items[i - 1]!.score as number) >= (items[i]!.score as number), 'sorted by score');
      assert.deepEqual(
        items.map((x) => x.score).sort((a, b) => Number(a) - Number(b)),
        [...best].sort((a, b) => a - b),
      );
      for (const item of items) {
        assert.equal(json<{ rank: number }>(await api.record(players[0]!.accessToken, board, item.player_id)).rank, item.rank);
        const window = json<Scores>(await api.scores(project.secretKey, board, `?around=${item.player_id}&limit=1`)).items;
        assert.equal(window[0]!.rank, item.rank);
      }
    });

    it('a retry with the same Idempotency-Key returns the first answer and adds once', async () => {
      const board = await newBoard(t.app, project, { id: boardId('idem'), sort: 'desc', operator: 'incr' });
      const key = { 'idempotency-key': 'retry-1' };
      const first = json<Answer>(await api.submit(players[0]!.accessToken, board, { score: 5 }, key));
      json(await api.submit(players[1]!.accessToken, board, { score: 50 }));
      const again = json<Answer>(await api.submit(players[0]!.accessToken, board, { score: 5 }, key));
      assert.deepEqual(again, first, 'the first answer, rank included');
      assert.equal(json<{ score: number }>(await api.record(project.secretKey, board, players[0]!.playerId)).score, 5);
      // The same key with another request is refused; another caller's same key is its own.
      assertProblem(await api.submit(players[0]!.accessToken, board, { score: 6 }, key), 409, 'same key, another body');
      json(await api.submit(players[2]!.accessToken, board, { score: 1 }, key));
      json(await api.submit(project.secretKey, board, { player_id: players[0]!.playerId, score: 1 }, key));
      assert.equal(json<{ score: number }>(await api.record(project.secretKey, board, players[0]!.playerId)).score, 6);
      // A fresh key is a fresh submit.
      json(await api.submit(players[0]!.accessToken, board, { score: 5 }, { 'idempotency-key': 'retry-2' }));
      assert.equal(json<{ score: number }>(await api.record(project.secretKey, board, players[0]!.playerId)).score, 11);
    });

    it('a key older than 24 h no longer replays: the submit runs again', async () => {
      const board = await newBoard(t.app, project, { id: boardId('idem-old'), sort: 'desc', operator: 'incr' });
      const key = { 'idempotency-key': 'yesterday' };
      json(await api.submit(players[5]!.accessToken, board, { score: 2 }, key));
      json(await api.submit(players[5]!.accessToken, board, { score: 2 }, key));
      assert.equal(json<{ score: number }>(await api.record(project.secretKey, board, players[5]!.playerId)).score, 2);
      await database.db.operator('test: age the key', (tx) =>
        tx.query(`update idempotency_keys set created_at = now() - interval '25 hours' where key = 'yesterday'`),
      );
      assert.equal(json<Answer>(await api.submit(players[5]!.accessToken, board, { score: 2 }, key)).score, 4);
    });

    it('concurrent retries with one key apply once; a failed submit does not burn its key', async () => {
      const board = await newBoard(t.app, project, { id: boardId('idem-race'), sort: 'desc', operator: 'incr' });
      const key = { 'idempotency-key': 'race-key' };
      const answers = await Promise.all(Array.from({ length: 20 }, () => api.submit(players[3]!.accessToken, board, { score: 7 }, key)));
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
      assert.equal(new Set(answers.map((res) => res.body)).size, 1, 'every retry got the same answer');
      assert.equal(json<{ score: number }>(await api.record(project.secretKey, board, players[3]!.playerId)).score, 7);

      const overflow = { 'idempotency-key': 'after-400' };
      json(await api.submit(players[4]!.accessToken, board, { score: '9223372036854775807' }));
      assertProblem(await api.submit(players[4]!.accessToken, board, { score: 1 }, overflow), 400, 'overflow');
      json(await api.submit(players[4]!.accessToken, board, { score: -1 }));
      assert.equal(json<Answer>(await api.submit(players[4]!.accessToken, board, { score: 1 }, overflow)).score, '9223372036854775807');
    });
  });
}
