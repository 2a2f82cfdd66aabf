/** Leaderboard boards: create, read, list, delete; who may do what; bad input is a 4xx. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, boardId, client, json, newBoard, projectWithPlayers, type Scores } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`leaderboard boards (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    let player: TestPlayer;
    let api: ReturnType<typeof client>;
    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db });
      api = client(t.app);
      ({ project, players: [player] } = (await projectWithPlayers(t.app, 1)) as { project: TestProject; players: [TestPlayer] });
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('creates a board (201) with the documented shape and reads it back; settings are fixed (409)', async () => {
      const id = boardId('weekly-race');
      const body = { id, sort: 'desc', operator: 'best', authoritative: true, reset_cron: '0 0 * * 1', metadata: { title: 'Weekly' } };
      const created = json<Record<string, unknown>>(await api.createBoard(project, body), 201);
      assert.deepEqual(Object.keys(created).sort(), ['authoritative', 'created_at', 'id', 'metadata', 'operator', 'reset_cron', 'sort']);
      assert.deepEqual({ ...created, created_at: undefined }, { ...body, created_at: undefined });
      assert.ok(!Number.isNaN(Date.parse(String(created.created_at))));
      const read = json<Record<string, unknown>>(await api.call('GET', `/v1/leaderboards/${id}`, project.secretKey));
      assert.deepEqual(read, created);
      assertProblem(await api.createBoard(project, { ...body, sort: 'asc' }), 409, 'same id again');
      const defaults = json<Record<string, unknown>>(await api.createBoard(project, { id: boardId('plain'), sort: 'asc', operator: 'set' }), 201);
      assert.equal(defaults.authoritative, false);
      assert.equal(defaults.reset_cron, null);
      assert.deepEqual(defaults.metadata, {});
    });

    it('lists boards by id with a cursor; players may list and read, not create or delete (403)', async () => {
      const { project: own, players } = await projectWithPlayers(t.app, 1);
      const ids = ['b-c', 'b-a', 'b-b'];
      for (const id of ids) await newBoard(t.app, own, { id, sort: 'desc', operator: 'best' });
      const first = json<{ items: { id: string }[]; next_cursor: string | null }>(await api.call('GET', '/v1/leaderboards?limit=2', own.secretKey));
      assert.deepEqual(first.items.map((b) => b.id), ['b-a', 'b-b']);
      assert.ok(first.next_cursor);
      const second = json<{ items: { id: string }[]; next_cursor: string | null }>(
        await api.call('GET', `/v1/leaderboards?limit=2&cursor=${first.next_cursor}`, players[0]!.accessToken),
      );
      assert.deepEqual(second.items.map((b) => b.id), ['b-c']);
      assert.equal(second.next_cursor, null);
      assert.equal((await api.call('GET', '/v1/leaderboards/b-a', players[0]!.accessToken)).statusCode, 200);
      assertProblem(await api.call('POST', '/v1/leaderboards', players[0]!.accessToken, { id: 'b-x', sort: 'desc', operator: 'best' }), 403, 'player creates');
      assertProblem(await api.call('DELETE', '/v1/leaderboards/b-a', players[0]!.accessToken), 403, 'player deletes');
      assertProblem(await api.call('GET', '/v1/leaderboards', own.publishableKey), 403, 'publishable key lists');
      assertProblem(await api.call('GET', '/v1/leaderboards', 'x'.repeat(40)), 401, 'unknown credential');
    });

    it('deletes a board (204, then 404); recreated under the same id it starts empty', async () => {
      const id = boardId('again');
      await newBoard(t.app, project, { id, sort: 'desc', operator: 'best' });
      json(await api.submit(project.secretKey, id, { player_id: player.playerId, score: 50 }));
      assert.equal(json<Scores>(await api.scores(project.secretKey, id)).items.length, 1);
      assert.equal((await api.call('DELETE', `/v1/leaderboards/${id}`, project.secretKey)).statusCode, 204);
      assertProblem(await api.call('GET', `/v1/leaderboards/${id}`, project.secretKey), 404, 'deleted board');
      assertProblem(await api.scores(project.secretKey, id), 404, 'scores of a deleted board');
      assertProblem(await api.submit(project.secretKey, id, { player_id: player.playerId, score: 1 }), 404, 'submit to a deleted board');
      assertProblem(await api.call('DELETE', `/v1/leaderboards/${id}`, project.secretKey), 404, 'deleted twice');
      await newBoard(t.app, project, { id, sort: 'asc', operator: 'set' });
      assert.deepEqual(json<Scores>(await api.scores(project.secretKey, id)).items, []);
      assertProblem(await api.record(project.secretKey, id, player.playerId), 404, 'old record on the new board');
      const fresh = json<{ score: number; rank: number }>(await api.submit(project.secretKey, id, { player_id: player.playerId, score: 7 }));
      assert.deepEqual([fresh.score, fresh.rank], [7, 1]);
    });

    it('purges a deleted board\'s records in the background (Postgres keeps no orphans)', async () => {
      const id = boardId('purged');
      await newBoard(t.app, project, { id, sort: 'desc', operator: 'best' });
      json(await api.submit(project.secretKey, id, { player_id: player.playerId, score: 5 }));
      assert.equal((await api.call('DELETE', `/v1/leaderboards/${id}`, project.secretKey)).statusCode, 204);
      const left = async () =>
        Number(
          (
            await database.db.operator('test', (tx) =>
              tx.query<{ n: string }>(`select count(*) as n from leaderboards b where b.id = $1 and b.deleted_at is not null`, [id]),
            )
          )[0]!.n,
        );
      await eventually(async () => (await left()) === 0, 5_000, 'the tombstone and its records purged');
    });

    it('answers bad input with 4xx problems, never 5xx, and creates nothing', async () => {
      const good = { sort: 'desc', operator: 'best' };
      const cases: [string, Record<string, unknown>][] = [
        ['empty id', { id: '', ...good }],
        ['upper case id', { id: 'Weekly', ...good }],
        ['id too long', { id: 'a'.repeat(65), ...good }],
        ['id with a slash', { id: 'a/b', ...good }],
        ['unknown sort', { id: 'ok-1', sort: 'up', operator: 'best' }],
        ['unknown operator', { id: 'ok-2', sort: 'desc', operator: 'max' }],
        ['authoritative as a string', { id: 'ok-3', ...good, authoritative: 'yes' }],
        ['unknown field', { id: 'ok-4', ...good, colour: 'red' }],
        ['invalid cron', { id: 'ok-5', ...good, reset_cron: 'every monday' }],
        ['cron with seconds', { id: 'ok-6', ...good, reset_cron: '0 0 0 * * 1' }],
        ['cron out of range', { id: 'ok-7', ...good, reset_cron: '61 0 * * *' }],
        ['cron that never fires', { id: 'ok-8', ...good, reset_cron: '0 0 31 2 *' }],
        ['metadata too big', { id: 'ok-9', ...good, metadata: { blob: 'x'.repeat(3000) } }],
        ['metadata not an object', { id: 'ok-10', ...good, metadata: [1, 2] }],
        ['metadata with NUL', { id: 'ok-11', ...good, metadata: { a: 'x\u0000y' } }],
        ['metadata with a lone surrogate', { id: 'ok-12', ...good, metadata: { a: '\ud800' } }],
      ];
      for (const [what, body] of cases) assertProblem(await api.createBoard(project, body), 400, what);
      const list = json<{ items: { id: string }[] }>(await api.call('GET', '/v1/leaderboards?limit=100', project.secretKey));
      assert.ok(!list.items.some((b) => b.id.startsWith('ok-')), 'nothing was created');
      assertProblem(await api.call('GET', '/v1/leaderboards/NOPE', project.secretKey), 400, 'bad id in the path');
      assertProblem(await api.call('GET', '/v1/leaderboards/nope', project.secretKey), 404, 'unknown board');
      assertProblem(await api.call('GET', '/v1/leaderboards?limit=0', project.secretKey), 400, 'limit 0');
      assertProblem(await api.call('GET', '/v1/leaderboards?limit=101', project.secretKey), 400, 'limit 101');
      assertProblem(await api.call('GET', '/v1/leaderboards?cursor=garbage', project.secretKey), 400, 'bad cursor');
      const raw = await t.app.inject({
        method: 'POST',
        url: '/v1/leaderboards',
        headers: { authorization: `Bearer ${project.secretKey}`, 'content-type': 'application/json' },
        payload: '{"id": "x", ',
      });
      assertProblem(raw, 400, 'malformed JSON');
    });
  });
}
