/**
 * Blocks: a block ends every friendship and request between the two, both ways, and is idempotent; lifting it
 * brings nothing back. Being blocked is never visible: to the blocked player the blocker answers every route
 * exactly as a player that does not exist.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import {
  assertProblem,
  befriend,
  friends,
  json,
  listAll,
  projectWithPlayers,
  sameness,
  startSuite,
  storedRows,
  type RelationJson,
  type Suite,
} from './helpers.js';

const UNKNOWN = '999999999999999999';

for (const kind of databaseKinds()) {
  describe(`blocks (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;
    let project: TestProject;
    let players: TestPlayer[];
    let next = 0;
    const fresh = () => players[next++]!;

    before(async () => {
      s = await startSuite(kind);
      f = friends(s.app);
      ({ project, players } = await projectWithPlayers(s, 24));
    });
    after(async () => s?.close());

    it('ends a friendship and requests both ways; blocking again changes nothing', async () => {
      const [a, friend, asked, asker] = [fresh(), fresh(), fresh(), fresh()];
      await befriend(s.app, a, friend);
      json(await f.request(a.accessToken, { player_id: asked.playerId }), 201);
      json(await f.request(asker.accessToken, { player_id: a.playerId }), 201);
      for (const other of [friend, asked, asker]) {
        const blocked = json<RelationJson>(await f.block(a.accessToken, other.playerId));
        assert.deepEqual([blocked.player.id, blocked.state, blocked.presence], [other.playerId, 'blocked', null]);
        assertProblem(await f.get(other.accessToken, a.playerId), 404, 'not-found');
        assert.deepEqual(await listAll(s.app, other.accessToken), [], 'the blocked player sees nothing');
      }
      const rows = await storedRows(s, project.projectId);
      const again = json<RelationJson>(await f.block(a.accessToken, friend.playerId));
      assert.equal(again.state, 'blocked');
      assert.deepEqual(await storedRows(s, project.projectId), rows, 'idempotent');
      assert.deepEqual((await listAll(s.app, a.accessToken)).map((item) => item.state), ['blocked', 'blocked', 'blocked']);
    });

    it("to the blocked player, the blocker answers every route exactly as an unknown player", async () => {
      const [blocker, blocked] = [fresh(), fresh()];
      await befriend(s.app, blocker, blocked);
      json(await f.block(blocker.accessToken, blocked.playerId));
      const token = blocked.accessToken;
      const pairs = [
        ['request', await f.request(token, { player_id: blocker.playerId }), await f.request(token, { player_id: UNKNOWN })],
        ['get', await f.get(token, blocker.playerId), await f.get(token, UNKNOWN)],
        ['accept', await f.accept(token, blocker.playerId), await f.accept(token, UNKNOWN)],
        ['decline', await f.decline(token, blocker.playerId), await f.decline(token, UNKNOWN)],
        ['remove', await f.remove(token, blocker.playerId), await f.remove(token, UNKNOWN)],
        ['unblock', await f.unblock(token, blocker.playerId), await f.unblock(token, UNKNOWN)],
      ] as const;
      for (const [what, toBlocker, toNobody] of pairs) {
        assertProblem(toBlocker, 404, 'not-found', what);
        assert.deepEqual(sameness(toBlocker), sameness(toNobody), what);
      }
      // By username too.
      const username = json<RelationJson>(await f.get(blocker.accessToken, blocked.playerId)).player.username;
      assert.ok(username);
      const byName = await f.request(blocker.accessToken, { username });
      assertProblem(byName, 409, 'conflict', 'the blocker must unblock first');
    });

    it('the blocked player may block back; both blocks stand and each is lifted alone', async () => {
      const [a, b] = [fresh(), fresh()];
      json(await f.block(a.accessToken, b.playerId));
      assert.equal(json<RelationJson>(await f.block(b.accessToken, a.playerId)).state, 'blocked');
      assert.equal(json<RelationJson>(await f.get(a.accessToken, b.playerId)).state, 'blocked');
      assert.equal((await f.unblock(a.accessToken, b.playerId)).statusCode, 204);
      assertProblem(await f.get(a.accessToken, b.playerId), 404, 'not-found');
      assert.equal(json<RelationJson>(await f.get(b.accessToken, a.playerId)).state, 'blocked');
      // a may not ask b while b's block stands (404 as if b did not exist); b may not ask a (409).
      assertProblem(await f.request(a.accessToken, { player_id: b.playerId }), 404, 'not-found');
      assertProblem(await f.request(b.accessToken, { player_id: a.playerId }), 409, 'conflict');
    });

    it('unblocking brings no friendship back; 404 when not blocked; 400 for oneself and 404 for an unknown player', async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      await befriend(s.app, a, b);
      json(await f.block(a.accessToken, b.playerId));
      assert.equal((await f.unblock(a.accessToken, b.playerId)).statusCode, 204);
      assertProblem(await f.get(a.accessToken, b.playerId), 404, 'not-found');
      assertProblem(await f.get(b.accessToken, a.playerId), 404, 'not-found');
      assertProblem(await f.unblock(a.accessToken, b.playerId), 404, 'not-found', 'no longer blocked');
      assertProblem(await f.unblock(a.accessToken, c.playerId), 404, 'not-found', 'never blocked');
      // Either may ask again.
      json(await f.request(b.accessToken, { player_id: a.playerId }), 201);

      const rows = await storedRows(s, project.projectId);
      assertProblem(await f.block(a.accessToken, a.playerId), 400, 'validation', 'oneself');
      assertProblem(await f.block(a.accessToken, UNKNOWN), 404, 'not-found', 'unknown');
      assertProblem(await f.block(a.accessToken, 'x1'), 400, 'validation', 'bad id');
      assert.deepEqual(await storedRows(s, project.projectId), rows);
    });

    it('DELETE /v1/friends/{id} never lifts a block', async () => {
      const [a, b] = [fresh(), fresh()];
      json(await f.block(a.accessToken, b.playerId));
      assertProblem(await f.remove(a.accessToken, b.playerId), 404, 'not-found');
      assert.equal(json<RelationJson>(await f.get(a.accessToken, b.playerId)).state, 'blocked');
    });
  });
}
