/**
 * Isolation: another project of the same tenant, and another tenant, never read, list, rank or overwrite a
 * project's boards and records — by secret key or by player token — even with the same board ids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, client, json, newBoard, projectWithPlayers, type Scores } from './helpers.js';

interface Party {
  name: string;
  project: TestProject;
  players: TestPlayer[];
}

for (const kind of databaseKinds()) {
  describe(`leaderboard isolation (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let owner: Party;
    let others: Party[];
    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db });
      api = client(t.app);
      const a = await projectWithPlayers(t.app, 2);
      const sibling = await projectWithPlayers(t.app, 2, a.project.tenantId);
      const stranger = await projectWithPlayers(t.app, 2);
      owner = { name: 'owner', ...a };
      others = [
        { name: 'another project of the same tenant', ...sibling },
        { name: 'another tenant', ...stranger },
      ];
      // The same ids everywhere: only the owner's board has "only-mine".
      for (const party of [owner, ...others]) await newBoard(t.app, party.project, { id: 'shared', sort: 'desc', operator: 'incr' });
      await newBoard(t.app, owner.project, { id: 'only-mine', sort: 'desc', operator: 'best' });
      for (const [i, player] of owner.players.entries()) {
        json(await api.submit(owner.project.secretKey, 'shared', { player_id: player.playerId, score: 100 + i }));
        json(await api.submit(owner.project.secretKey, 'only-mine', { player_id: player.playerId, score: 100 + i }));
      }
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('never reads or lists the owner\'s boards and records', async () => {
      const mine = owner.players[0]!.playerId;
      for (const other of others) {
        for (const credential of [other.project.secretKey, other.players[0]!.accessToken]) {
          const what = `${other.name} (${credential.startsWith('ggs_') ? 'secret key' : 'player'})`;
          const list = json<{ items: { id: string }[] }>(await api.call('GET', '/v1/leaderboards', credential));
          assert.deepEqual(list.items.map((b) => b.id), ['shared'], `${what}: lists only its own`);
          assertProblem(await api.call('GET', '/v1/leaderboards/only-mine', credential), 404, `${what}: get`);
          assertProblem(await api.scores(credential, 'only-mine'), 404, `${what}: scores`);
          assertProblem(await api.record(credential, 'only-mine', mine), 404, `${what}: record`);
          assert.deepEqual(json<Scores>(await api.scores(credential, 'shared')).items, [], `${what}: its own board of the same id is empty`);
          assertProblem(await api.record(credential, 'shared', mine), 404, `${what}: the owner's player on its own board`);
          assertProblem(await api.scores(credential, 'shared', `?around=${mine}`), 404, `${what}: around the owner's player`);
        }
      }
    });

    it('never writes, ranks against or deletes the owner\'s records', async () => {
      const mine = owner.players[0]!.playerId;
      for (const other of others) {
        const key = other.project.secretKey;
        assertProblem(await api.submit(key, 'only-mine', { player_id: other.players[0]!.playerId, score: 1 }), 404, `${other.name}: submit to the owner's board`);
        assertProblem(await api.submit(key, 'shared', { player_id: mine, score: 1_000 }), 404, `${other.name}: submit for the owner's player`);
        assertProblem(await api.call('DELETE', `/v1/leaderboards/shared/scores/${mine}`, key), 404, `${other.name}: delete the owner's record`);
        assertProblem(await api.call('DELETE', '/v1/leaderboards/only-mine', key), 404, `${other.name}: delete the owner's board`);
        assertProblem(await api.submit(other.players[0]!.accessToken, 'shared', { player_id: mine, score: 1 }), 403, `${other.name}: player names the owner's player`);
        // Its own submits on "shared" rank only among its own players.
        const own = json<{ rank: number; score: number }>(await api.submit(other.players[0]!.accessToken, 'shared', { score: 1_000_000 }));
        assert.deepEqual([own.rank, own.score], [1, 1_000_000]);
      }
      // The owner's board is exactly as it was.
      const items = json<Scores>(await api.scores(owner.project.secretKey, 'shared')).items;
      assert.deepEqual(items.map((x) => [x.rank, x.score]), [[1, 101], [2, 100]]);
      assert.equal(json<{ rank: number }>(await api.record(owner.players[0]!.accessToken, 'shared', mine)).rank, 2);
      assert.equal(json<{ rank: number }>(await api.record(owner.players[0]!.accessToken, 'only-mine', mine)).rank, 2);
    });

    it('keeps Idempotency-Keys per project: the same key elsewhere is a new submit', async () => {
      const key = { 'idempotency-key': 'same-everywhere' };
      const first = json<{ score: number }>(await api.submit(owner.project.secretKey, 'shared', { player_id: owner.players[1]!.playerId, score: 1 }, key));
      assert.equal(first.score, 102);
      for (const other of others) {
        const theirs = json<{ score: number; player_id: string }>(
          await api.submit(other.project.secretKey, 'shared', { player_id: other.players[1]!.playerId, score: 1 }, key),
        );
        assert.deepEqual([theirs.player_id, theirs.score], [other.players[1]!.playerId, 1], `${other.name}: its own submit, not a replay`);
      }
    });
  });
}
