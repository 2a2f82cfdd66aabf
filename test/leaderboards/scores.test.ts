/** Score submits: operators, ranking and tie-breaks, exact 64-bit values, who may submit, bad input. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, boardId, client, dropIndexKeys, indexKinds, json, newBoard, projectWithPlayers, type Scores } from './helpers.js';

interface Answer {
  player_id: string;
  score: number | string;
  subscore: number | string;
  rank: number;
  updated_at: string;
}

const MAX = '9223372036854775807';
const MIN = '-9223372036854775808';

for (const kind of databaseKinds()) for (const index of indexKinds()) {
  describe(`leaderboard scores (${kind.name}, ${index.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    let players: TestPlayer[];
    let api: ReturnType<typeof client>;
    /** Submits with the secret key for player i. */
    const submit = (board: string, i: number, body: Record<string, unknown>) =>
      api.submit(project.secretKey, board, { player_id: players[i]!.playerId, ...body });
    const order = async (board: string) => json<Scores>(await api.scores(project.secretKey, board, '?limit=100')).items.map((x) => players.findIndex((p) => p.playerId === x.player_id));

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: index.env });
      api = client(t.app);
      ({ project, players } = await projectWithPlayers(t.app, 6));
    });
    after(async () => {
      await t.close();
      await database.drop();
      await dropIndexKeys(index.env);
    });

    it('best keeps the better (score, subscore) by the board order, with the rank in the answer', async () => {
      const desc = await newBoard(t.app, project, { id: boardId('best-desc'), sort: 'desc', operator: 'best' });
      const first = json<Answer>(await submit(desc, 0, { score: 100, subscore: 5, metadata: { run: 1 } }));
      assert.deepEqual(Object.keys(first).sort(), ['player_id', 'rank', 'score', 'subscore', 'updated_at']);
      assert.deepEqual([first.player_id, first.score, first.subscore, first.rank], [players[0]!.playerId, 100, 5, 1]);
      assert.deepEqual(pick(json<Answer>(await submit(desc, 0, { score: 90, subscore: 9, metadata: { run: 2 } }))), [100, 5, 1], 'a worse score is kept out');
      assert.deepEqual(pick(json<Answer>(await submit(desc, 0, { score: 100, subscore: 6, metadata: { run: 3 } }))), [100, 6, 1], 'a better subscore wins');
      assert.equal(json<{ metadata: Record<string, unknown> }>(await api.record(project.secretKey, desc, players[0]!.playerId)).metadata.run, 3);
      assert.equal(json<Answer>(await submit(desc, 1, { score: 150 })).rank, 1);
      assert.deepEqual(await order(desc), [1, 0]);

      const asc = await newBoard(t.app, project, { id: boardId('best-asc'), sort: 'asc', operator: 'best' });
      json(await submit(asc, 0, { score: 60 }));
      assert.deepEqual(pick(json<Answer>(await submit(asc, 0, { score: 75 }))), [60, 0, 1], 'asc: a higher time is worse');
      assert.deepEqual(pick(json<Answer>(await submit(asc, 0, { score: 55 }))), [55, 0, 1]);
      assert.equal(json<Answer>(await submit(asc, 1, { score: 58 })).rank, 2);
    });

    it('set replaces; incr and decr add and subtract (score and subscore); metadata kept unless sent', async () => {
      const set = await newBoard(t.app, project, { id: boardId('set'), sort: 'desc', operator: 'set' });
      json(await submit(set, 0, { score: 100, metadata: { a: 1 } }));
      assert.deepEqual(pick(json<Answer>(await submit(set, 0, { score: 3, subscore: -2 }))), [3, -2, 1]);
      assert.deepEqual(json<{ metadata: unknown }>(await api.record(project.secretKey, set, players[0]!.playerId)).metadata, { a: 1 });

      const incr = await newBoard(t.app, project, { id: boardId('incr'), sort: 'desc', operator: 'incr' });
      json(await submit(incr, 0, { score: 10, subscore: 1 }));
      assert.deepEqual(pick(json<Answer>(await submit(incr, 0, { score: 5, subscore: 1 }))), [15, 2, 1]);
      assert.deepEqual(pick(json<Answer>(await submit(incr, 0, { score: -20 }))), [-5, 2, 1]);

      const decr = await newBoard(t.app, project, { id: boardId('decr'), sort: 'asc', operator: 'decr' });
      assert.deepEqual(pick(json<Answer>(await submit(decr, 0, { score: 10 }))), [-10, 0, 1]);
      assert.deepEqual(pick(json<Answer>(await submit(decr, 0, { score: 5, subscore: 2 }))), [-15, -2, 1]);
    });

    it('ranks ties by subscore, then by who reached the exact (score, subscore) first; a no-op keeps its place', async () => {
      const board = await newBoard(t.app, project, { id: boardId('ties'), sort: 'desc', operator: 'set' });
      json(await submit(board, 0, { score: 10 }));
      json(await submit(board, 1, { score: 10 }));
      json(await submit(board, 2, { score: 10, subscore: 1 }));
      json(await submit(board, 3, { score: 10 }));
      assert.deepEqual(await order(board), [2, 0, 1, 3]);
      // The same (score, subscore) again, even with new metadata: the place does not change.
      assert.equal(json<Answer>(await submit(board, 0, { score: 10, metadata: { again: true } })).rank, 2);
      assert.deepEqual(await order(board), [2, 0, 1, 3]);
      // Leaving and coming back to 10 counts as reaching it again: now behind the others.
      json(await submit(board, 0, { score: 11 }));
      assert.equal(json<Answer>(await submit(board, 0, { score: 10 })).rank, 4);
      assert.deepEqual(await order(board), [2, 1, 3, 0]);
      // On a best board a worse submit changes nothing either.
      const best = await newBoard(t.app, project, { id: boardId('ties-best'), sort: 'desc', operator: 'best' });
      json(await submit(best, 0, { score: 7 }));
      json(await submit(best, 1, { score: 7 }));
      json(await submit(best, 0, { score: 6 }));
      assert.deepEqual(await order(best), [0, 1]);
    });

    it('keeps 64-bit values exact: numbers up to 2^53, decimal strings beyond, both accepted', async () => {
      const board = await newBoard(t.app, project, { id: boardId('wide'), sort: 'desc', operator: 'set' });
      const top = json<Answer>(await submit(board, 0, { score: MAX, subscore: MIN }));
      assert.deepEqual([top.score, top.subscore], [MAX, MIN]);
      const bottom = json<Answer>(await submit(board, 1, { score: MIN, subscore: MAX }));
      assert.deepEqual([bottom.score, bottom.subscore, bottom.rank], [MIN, MAX, 2]);
      const safe = json<Answer>(await submit(board, 2, { score: String(2 ** 53 - 1) }));
      assert.equal(safe.score, 2 ** 53 - 1, 'a value that fits in 2^53 comes back as a number');
      const beyond = json<Answer>(await submit(board, 3, { score: '9007199254740993' }));
      assert.equal(beyond.score, '9007199254740993', 'beyond 2^53 it is a string, not rounded');
      json(await submit(board, 4, { score: MAX, subscore: MAX }));
      const items = json<Scores>(await api.scores(project.secretKey, board)).items;
      assert.deepEqual(items.map((x) => [x.score, x.subscore]), [[MAX, MAX], [MAX, MIN], ['9007199254740993', 0], [2 ** 53 - 1, 0], [MIN, MAX]]);
      assert.deepEqual(pick(json<Answer>(await api.record(project.secretKey, board, players[1]!.playerId))).slice(0, 2), [MIN, MAX]);
    });

    it('refuses a result outside signed 64 bits with 400 and changes nothing', async () => {
      const incr = await newBoard(t.app, project, { id: boardId('overflow'), sort: 'desc', operator: 'incr' });
      json(await submit(incr, 0, { score: MAX }));
      assertProblem(await submit(incr, 0, { score: 1 }), 400, 'MAX + 1');
      json(await submit(incr, 1, { score: MIN }));
      assertProblem(await submit(incr, 1, { score: -1 }), 400, 'MIN - 1');
      json(await submit(incr, 2, { score: 0, subscore: MIN }));
      assertProblem(await submit(incr, 2, { score: 0, subscore: -1 }), 400, 'subscore MIN - 1');
      assert.deepEqual(pick(json<Answer>(await api.record(project.secretKey, incr, players[0]!.playerId))).slice(0, 1), [MAX]);
      const decr = await newBoard(t.app, project, { id: boardId('overflow-decr'), sort: 'desc', operator: 'decr' });
      json(await submit(decr, 0, { score: MAX }));
      assert.equal(json<Answer>(await submit(decr, 0, { score: 1 })).score, MIN);
      assertProblem(await submit(decr, 0, { score: 1 }), 400, 'MIN - 1 by decr');
      assertProblem(await submit(decr, 1, { score: MIN }), 400, 'decr by MIN from nothing is 2^63');
    });

    it('answers bad scores, metadata, players and boards with 4xx, never 5xx', async () => {
      const board = await newBoard(t.app, project, { id: boardId('bad'), sort: 'desc', operator: 'best' });
      const player = players[0]!.playerId;
      const cases: [string, unknown][] = [
        ['a float', { player_id: player, score: 1.5 }],
        ['a float string', { player_id: player, score: '1.5' }],
        ['exponent string', { player_id: player, score: '1e3' }],
        ['a word', { player_id: player, score: 'abc' }],
        ['empty string', { player_id: player, score: '' }],
        ['beyond 2^53 as a number', { player_id: player, score: 2 ** 53 + 2 }],
        ['a huge number', { player_id: player, score: 1e300 }],
        ['above 2^63-1', { player_id: player, score: '9223372036854775808' }],
        ['below -2^63', { player_id: player, score: '-9223372036854775809' }],
        ['20 digits', { player_id: player, score: '12345678901234567890' }],
        ['a boolean', { player_id: player, score: true }],
        ['null', { player_id: player, score: null }],
        ['missing score', { player_id: player }],
        ['bad subscore', { player_id: player, score: 1, subscore: 0.1 }],
        ['metadata over 2 KiB', { player_id: player, score: 1, metadata: { x: 'y'.repeat(2100) } }],
        ['metadata not an object', { player_id: player, score: 1, metadata: 'text' }],
        ['metadata with NUL', { player_id: player, score: 1, metadata: { x: '\u0000' } }],
        ['unknown field', { player_id: player, score: 1, rank: 1 }],
        ['bad player id', { player_id: 'abc', score: 1 }],
        ['player id too long', { player_id: '1'.repeat(19), score: 1 }],
        ['no player id with a secret key', { score: 1 }],
      ];
      for (const [what, body] of cases) assertProblem(await api.call('POST', `/v1/leaderboards/${board}/scores`, project.secretKey, body), 400, what);
      assert.deepEqual(json<Scores>(await api.scores(project.secretKey, board)).items, [], 'nothing was written');
      assertProblem(await api.submit(project.secretKey, board, { player_id: '999999999', score: 1 }), 404, 'unknown player');
      assertProblem(await api.submit(project.secretKey, 'no-such-board', { player_id: player, score: 1 }), 404, 'unknown board');
      assertProblem(await api.submit(project.secretKey, 'Bad_Board', { player_id: player, score: 1 }), 400, 'bad board id');
      assertProblem(await api.submit(project.secretKey, board, { player_id: player, score: 1 }, { 'idempotency-key': 'k'.repeat(256) }), 400, 'key too long');
    });

    it('a player submits for itself only, and not at all on an authoritative board', async () => {
      const open = await newBoard(t.app, project, { id: boardId('open'), sort: 'desc', operator: 'best' });
      const own = json<Answer>(await api.submit(players[0]!.accessToken, open, { score: 12 }));
      assert.equal(own.player_id, players[0]!.playerId);
      json(await api.submit(players[0]!.accessToken, open, { player_id: players[0]!.playerId, score: 13 }));
      assertProblem(await api.submit(players[0]!.accessToken, open, { player_id: players[1]!.playerId, score: 99 }), 403, 'for another player');
      assertProblem(await api.submit(project.publishableKey, open, { player_id: players[0]!.playerId, score: 1 }), 403, 'publishable key');
      const authoritative = await newBoard(t.app, project, { id: boardId('auth'), sort: 'desc', operator: 'best', authoritative: true });
      assertProblem(await api.submit(players[0]!.accessToken, authoritative, { score: 1 }), 403, 'player on an authoritative board');
      json(await submit(authoritative, 0, { score: 1 }));
      assert.equal(json<Scores>(await api.scores(players[0]!.accessToken, authoritative)).items.length, 1, 'players still read it');
    });
  });
}

function pick(answer: { score: number | string; subscore: number | string; rank?: number }): (number | string | undefined)[] {
  return [answer.score, answer.subscore, answer.rank];
}
