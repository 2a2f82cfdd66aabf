/** Reading a board: pages with cursors, around a player, one record, deleting records, reset periods. */
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, boardId, client, dropIndexKeys, indexKinds, json, newBoard, projectWithPlayers, type Scores } from './helpers.js';

const PLAYERS = 12;

for (const kind of databaseKinds()) for (const index of indexKinds()) {
  describe(`leaderboard reads (${kind.name}, ${index.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    let players: TestPlayer[];
    let api: ReturnType<typeof client>;
    /** A board where player i has score 100 - i, so its rank is i + 1. */
    let board: string;
    const rankOf = (i: number) => i + 1;
    const ids = (items: Scores['items']) => items.map((x) => players.findIndex((p) => p.playerId === x.player_id));

    before(async () => {
      database = await kind.create();
      // Long-lived access tokens: the period test moves the clock forward by hours.
      t = await buildTestApp({ db: database.db, env: { ...index.env, ACCESS_TOKEN_TTL_SECONDS: '86400' } });
      api = client(t.app);
      ({ project, players } = await projectWithPlayers(t.app, PLAYERS));
      board = await newBoard(t.app, project, { id: boardId('reads'), sort: 'desc', operator: 'best' });
      for (const [i, player] of players.entries()) {
        json(await api.submit(project.secretKey, board, { player_id: player.playerId, score: 100 - i, metadata: { i } }));
      }
    });
    after(async () => {
      await t.close();
      await database.drop();
      await dropIndexKeys(index.env);
    });

    it('lists records in rank order with the documented item shape; ranks start at 1', async () => {
      const page = json<Scores>(await api.scores(players[3]!.accessToken, board, '?limit=3'));
      assert.deepEqual(Object.keys(page.items[0]!).sort(), ['metadata', 'player_id', 'rank', 'score', 'subscore', 'updated_at', 'username']);
      assert.deepEqual(page.items.map((x) => [x.rank, x.score, x.metadata]), [[1, 100, { i: 0 }], [2, 99, { i: 1 }], [3, 98, { i: 2 }]]);
      assert.equal(page.items[0]!.username, null);
      assert.ok(page.next_cursor);
      assert.deepEqual(json<Scores>(await api.scores(project.secretKey, board)).items.length, PLAYERS, 'default limit 20');
    });

    it('follows cursors through the whole board without gaps or repeats, even while it changes', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Scores = json<Scores>(await api.scores(project.secretKey, board, `?limit=5${cursor ? `&cursor=${cursor}` : ''}`));
        seen.push(...ids(page.items));
        for (const [j, item] of page.items.entries()) assert.equal(item.rank, pages * 5 + j + 1);
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      assert.deepEqual(seen, players.map((_, i) => i));
      // A record above the cursor moves: the next page still continues after the cursor's entry.
      const first = json<Scores>(await api.scores(project.secretKey, board, '?limit=5'));
      const scratch = await newBoard(t.app, project, { id: boardId('moving'), sort: 'desc', operator: 'set' });
      for (const [i, player] of players.entries()) json(await api.submit(project.secretKey, scratch, { player_id: player.playerId, score: 100 - i }));
      const top = json<Scores>(await api.scores(project.secretKey, scratch, '?limit=5'));
      json(await api.submit(project.secretKey, scratch, { player_id: players[0]!.playerId, score: 0 }));
      const next = json<Scores>(await api.scores(project.secretKey, scratch, `?limit=5&cursor=${top.next_cursor}`));
      assert.deepEqual(ids(next.items), [5, 6, 7, 8, 9]);
      assert.equal(next.items[0]!.rank, 5, 'ranks are current');
      assert.ok(first.next_cursor);
    });

    it('around: the player in the middle (one more above when even), shifted at the ends; 404 without a record', async () => {
      const around = async (i: number, limit: number) =>
        json<Scores>(await api.scores(project.secretKey, board, `?around=${players[i]!.playerId}&limit=${limit}`)).items.map((x) => x.rank);
      assert.deepEqual(await around(5, 5), [4, 5, 6, 7, 8]);
      assert.deepEqual(await around(5, 4), [4, 5, 6, 7]);
      assert.deepEqual(await around(0, 4), [1, 2, 3, 4]);
      assert.deepEqual(await around(PLAYERS - 1, 3), [PLAYERS - 2, PLAYERS - 1, PLAYERS]);
      assert.deepEqual(await around(2, 100), players.map((_, i) => rankOf(i)));
      const other = await newBoard(t.app, project, { id: boardId('empty'), sort: 'desc', operator: 'best' });
      assertProblem(await api.scores(project.secretKey, other, `?around=${players[0]!.playerId}`), 404, 'no record');
      assertProblem(await api.scores(project.secretKey, board, `?around=${players[0]!.playerId}&cursor=abc`), 400, 'around with cursor');
    });

    it('reads one record with its rank (404 when none), and the same rank as the listing', async () => {
      for (const i of [0, 4, PLAYERS - 1]) {
        const item = json<Scores['items'][number]>(await api.record(players[0]!.accessToken, board, players[i]!.playerId));
        assert.deepEqual([item.rank, item.player_id, item.score], [rankOf(i), players[i]!.playerId, 100 - i]);
      }
      const other = await newBoard(t.app, project, { id: boardId('none'), sort: 'desc', operator: 'best' });
      assertProblem(await api.record(project.secretKey, other, players[0]!.playerId), 404, 'no record');
      assertProblem(await api.record(project.secretKey, board, '999999999'), 404, 'unknown player');
      assertProblem(await api.record(project.secretKey, board, 'abc'), 400, 'bad player id');
      assertProblem(await api.scores(project.secretKey, board, '?limit=0'), 400, 'limit 0');
      assertProblem(await api.scores(project.secretKey, board, '?limit=101'), 400, 'limit 101');
      assertProblem(await api.scores(project.secretKey, board, '?cursor=eyJtIjoieCJ9'), 400, 'forged cursor');
      assertProblem(await api.scores(project.secretKey, board, '?period=last'), 400, 'unknown period');
      assertProblem(await api.scores(project.secretKey, board, '?period=previous'), 400, 'previous without reset_cron');
      assertProblem(await api.scores(project.secretKey, board, '?colour=red'), 400, 'unknown query field');
    });

    it('deletes a record (secret key, or the player itself: 204); others may not; ranks close up', async () => {
      const scratch = await newBoard(t.app, project, { id: boardId('delete'), sort: 'desc', operator: 'best' });
      for (const i of [0, 1, 2]) json(await api.submit(project.secretKey, scratch, { player_id: players[i]!.playerId, score: 10 - i }));
      const del = (credential: string, i: number) => api.call('DELETE', `/v1/leaderboards/${scratch}/scores/${players[i]!.playerId}`, credential);
      assertProblem(await del(players[1]!.accessToken, 0), 403, 'another player');
      assert.equal((await del(players[0]!.accessToken, 0)).statusCode, 204);
      assertProblem(await api.record(project.secretKey, scratch, players[0]!.playerId), 404, 'deleted record');
      assert.equal(json<{ rank: number }>(await api.record(project.secretKey, scratch, players[1]!.playerId)).rank, 1);
      assert.equal((await del(project.secretKey, 2)).statusCode, 204);
      assertProblem(await del(project.secretKey, 2), 404, 'deleted twice');
      assert.deepEqual(ids(json<Scores>(await api.scores(project.secretKey, scratch)).items), [1]);
      // A deleted record starts again from nothing (best takes any score; incr starts from zero).
      const back = json<{ score: number; rank: number }>(await api.submit(players[0]!.accessToken, scratch, { score: 1 }));
      assert.deepEqual([back.score, back.rank], [1, 2]);
    });

    it('starts each reset period empty and keeps the previous one readable (?period=previous)', async () => {
      const hourly = await newBoard(t.app, project, { id: boardId('hourly'), sort: 'desc', operator: 'incr', reset_cron: '0 * * * *' });
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      try {
        const submitAs = (i: number, score: number) => api.submit(project.secretKey, hourly, { player_id: players[i]!.playerId, score });
        json(await submitAs(0, 5));
        json(await submitAs(1, 7));
        assert.deepEqual(ids(json<Scores>(await api.scores(project.secretKey, hourly)).items), [1, 0]);
        mock.timers.tick(60 * 60 * 1000);
        assert.deepEqual(json<Scores>(await api.scores(project.secretKey, hourly)).items, [], 'a new period starts empty');
        const answer = json<{ score: number; rank: number }>(await submitAs(0, 1));
        assert.deepEqual([answer.score, answer.rank], [1, 1], 'incr starts from zero in the new period');
        const previous = json<Scores>(await api.scores(project.secretKey, hourly, '?period=previous'));
        assert.deepEqual(previous.items.map((x) => [x.rank, x.score]), [[1, 7], [2, 5]]);
        assert.equal(json<{ rank: number }>(await api.record(project.secretKey, hourly, players[0]!.playerId, '?period=previous')).rank, 2);
        const aroundPrevious = json<Scores>(await api.scores(project.secretKey, hourly, `?period=previous&around=${players[0]!.playerId}&limit=1`));
        assert.deepEqual(aroundPrevious.items.map((x) => x.score), [5]);
        mock.timers.tick(60 * 60 * 1000);
        assert.deepEqual(json<Scores>(await api.scores(project.secretKey, hourly, '?period=previous')).items.map((x) => x.score), [1]);
      } finally {
        mock.timers.reset();
      }
    });
  });
}
