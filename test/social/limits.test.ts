/**
 * The limits: FRIENDS_MAX, FRIEND_REQUESTS_PENDING_MAX and BLOCKS_MAX answer 409 limit-reached with the limit
 * and change nothing; FRIEND_REQUESTS_PER_HOUR answers 429 quota-exceeded. Each comes from the environment and
 * is overridden per project in the settings' limits (null removes the override).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, befriend, friends, json, projectWithPlayers, startSuite, storedRows, type RelationJson, type Suite } from './helpers.js';

async function setLimits(s: Suite, project: TestProject, limits: Record<string, number | null>): Promise<void> {
  const res = await operator(s.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { limits });
  assert.equal(res.statusCode, 200, res.body);
}

for (const kind of databaseKinds()) {
  describe(`social limits (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;

    before(async () => {
      s = await startSuite(kind, { FRIENDS_MAX: '3' });
      f = friends(s.app);
    });
    after(async () => s?.close());

    it('FRIENDS_MAX counts friends and sent requests; requests, mutual requests and accepts past it are 409 limit-reached', async () => {
      const { project, players } = await projectWithPlayers(s, 7);
      const [me, x, y, z, w, v] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      await befriend(s.app, me, x);
      json(await f.request(me.accessToken, { player_id: y.playerId }), 201);
      json(await f.request(me.accessToken, { player_id: z.playerId }), 201);
      // Received requests do not count.
      json(await f.request(w.accessToken, { player_id: me.playerId }), 201);
      const rows = await storedRows(s, project.projectId);
      const problem = assertProblem(await f.request(me.accessToken, { player_id: v.playerId }), 409, 'limit-reached');
      assert.equal(problem.limit, 3);
      assertProblem(await f.accept(me.accessToken, w.playerId), 409, 'limit-reached', 'accept');
      assertProblem(await f.request(me.accessToken, { player_id: w.playerId }), 409, 'limit-reached', 'the mutual request');
      assert.deepEqual(await storedRows(s, project.projectId), rows, 'nothing changed');
      // Asking someone already asked is not a new relation.
      assert.equal(json<RelationJson>(await f.request(me.accessToken, { player_id: y.playerId })).state, 'invite_sent');

      // Per project: lower, then back to the environment's value.
      await setLimits(s, project, { friends_max: 4 });
      assert.equal(json<RelationJson>(await f.accept(me.accessToken, w.playerId)).state, 'friend');
      assert.equal(assertProblem(await f.request(me.accessToken, { player_id: v.playerId }), 409, 'limit-reached').limit, 4);
      await setLimits(s, project, { friends_max: 2 });
      assert.equal(assertProblem(await f.request(me.accessToken, { player_id: v.playerId }), 409, 'limit-reached').limit, 2);
      // Removing makes room only below the limit.
      assert.equal((await f.remove(me.accessToken, y.playerId)).statusCode, 204);
      assert.equal((await f.remove(me.accessToken, z.playerId)).statusCode, 204);
      assert.equal((await f.remove(me.accessToken, w.playerId)).statusCode, 204);
      json(await f.request(me.accessToken, { player_id: v.playerId }), 201);
      await setLimits(s, project, { friends_max: null });
      json(await f.request(me.accessToken, { player_id: y.playerId }), 201);
      assert.equal(assertProblem(await f.request(me.accessToken, { player_id: z.playerId }), 409, 'limit-reached').limit, 3);
    });

    it('FRIEND_REQUESTS_PENDING_MAX bounds the requests waiting for the other player', async () => {
      const { project, players } = await projectWithPlayers(s, 4);
      const [target, a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      await setLimits(s, project, { friend_requests_pending_max: 2 });
      json(await f.request(a.accessToken, { player_id: target.playerId }), 201);
      json(await f.request(b.accessToken, { player_id: target.playerId }), 201);
      const rows = await storedRows(s, project.projectId);
      assert.equal(assertProblem(await f.request(c.accessToken, { player_id: target.playerId }), 409, 'limit-reached').limit, 2);
      assert.deepEqual(await storedRows(s, project.projectId), rows);
      assert.equal((await f.decline(target.accessToken, a.playerId)).statusCode, 204);
      json(await f.request(c.accessToken, { player_id: target.playerId }), 201);
    });

    it('BLOCKS_MAX bounds blocks; blocking a player already blocked is still 200 at the limit', async () => {
      const { project, players } = await projectWithPlayers(s, 4);
      const [me, a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      await setLimits(s, project, { blocks_max: 2 });
      json(await f.block(me.accessToken, a.playerId));
      json(await f.block(me.accessToken, b.playerId));
      await befriend(s.app, me, c);
      const rows = await storedRows(s, project.projectId);
      assert.equal(assertProblem(await f.block(me.accessToken, c.playerId), 409, 'limit-reached').limit, 2);
      assert.deepEqual(await storedRows(s, project.projectId), rows, 'the friendship stands');
      assert.equal(json<RelationJson>(await f.block(me.accessToken, a.playerId)).state, 'blocked');
      assert.equal((await f.unblock(me.accessToken, a.playerId)).statusCode, 204);
      assert.equal(json<RelationJson>(await f.block(me.accessToken, c.playerId)).state, 'blocked');
    });

    it('FRIEND_REQUESTS_PER_HOUR: past it, 429 quota-exceeded with Retry-After; per acting player', async () => {
      const { project, players } = await projectWithPlayers(s, 5);
      const [me, a, b, c, other] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      await setLimits(s, project, { friend_requests_per_hour: 2 });
      json(await f.request(me.accessToken, { player_id: a.playerId }), 201);
      json(await f.request(me.accessToken, { player_id: b.playerId }), 201);
      const rows = await storedRows(s, project.projectId);
      const refused = await f.request(me.accessToken, { player_id: c.playerId });
      assertProblem(refused, 429, 'quota-exceeded');
      assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After');
      // Through a secret key acting for the same player: the same budget.
      assertProblem(await f.request(project.secretKey, { player_id: c.playerId }, `?player_id=${me.playerId}`), 429, 'quota-exceeded');
      assert.deepEqual(await storedRows(s, project.projectId), rows);
      // Other routes and other players are not charged.
      json(await f.accept(a.accessToken, me.playerId));
      json(await f.request(other.accessToken, { player_id: c.playerId }), 201);
    });
  });
}
