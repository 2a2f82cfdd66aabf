/**
 * Both sides of a pair change together: two players who ask each other at the same moment end as friends
 * exactly once (one 201, one 200 friend, one request and one acceptance notified), the same request sent twice
 * at once is created once, and concurrent requests cannot push a player past its limit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { operator, type TestPlayer } from '../support/tenancy.js';
import { friends, json, notificationsOf, projectWithPlayers, startSuite, storedRows, type RelationJson, type Suite } from './helpers.js';

const ROUNDS = 12;

for (const kind of databaseKinds()) {
  describe(`social graph under concurrent requests (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;

    before(async () => {
      s = await startSuite(kind);
      f = friends(s.app);
    });
    after(async () => s?.close());

    it('two players asking each other at once end as friends exactly once, with one notification of each kind', async () => {
      const { project, players } = await projectWithPlayers(s, ROUNDS * 2);
      for (let round = 0; round < ROUNDS; round++) {
        const [a, b] = [players[round * 2]!, players[round * 2 + 1]!];
        const answers = await Promise.all([f.request(a.accessToken, { player_id: b.playerId }), f.request(b.accessToken, { player_id: a.playerId })]);
        const statuses = answers.map((res) => res.statusCode);
        assert.deepEqual([...statuses].sort(), [200, 201], `round ${round}: ${answers.map((res) => res.body).join(' ')}`);
        const first = statuses[0] === 201 ? a : b;
        const second = first === a ? b : a;
        assert.equal(answers[statuses.indexOf(200)]!.json<RelationJson>().state, 'friend');
        assert.equal(json<RelationJson>(await f.get(a.accessToken, b.playerId)).state, 'friend');
        assert.equal(json<RelationJson>(await f.get(b.accessToken, a.playerId)).state, 'friend');
        // The first requester's target was asked; the first requester was told it is accepted.
        assert.deepEqual((await notificationsOf(s, second)).map((n) => [n.code, n.sender_id]), [['ggscale.friend_request', first.playerId]], `round ${round}`);
        assert.deepEqual((await notificationsOf(s, first)).map((n) => [n.code, n.sender_id]), [['ggscale.friend_accepted', second.playerId]], `round ${round}`);
      }
      const rows = await storedRows(s, project.projectId);
      assert.equal(rows.length, ROUNDS * 2);
      assert.ok(rows.every(([, , state]) => state === 'friend'));
    });

    it('the same request sent twice at once is created once', async () => {
      const { project, players } = await projectWithPlayers(s, 2);
      const [a, b] = players as [TestPlayer, TestPlayer];
      const answers = await Promise.all(Array.from({ length: 4 }, () => f.request(a.accessToken, { player_id: b.playerId })));
      assert.deepEqual(answers.map((res) => res.statusCode).sort(), [200, 200, 200, 201]);
      assert.equal((await notificationsOf(s, b)).length, 1);
      assert.deepEqual((await storedRows(s, project.projectId)).map(([, , state]) => state).sort(), ['invite_received', 'invite_sent']);
    });

    it('concurrent requests and blocks cannot pass a limit', async () => {
      const { project, players } = await projectWithPlayers(s, 12);
      const [me, ...rest] = players as [TestPlayer, ...TestPlayer[]];
      // Which three of `others` get my requests is up to the race: the target and its askers are players none
      // of my requests can reach, so their pending counts start at zero whatever the race's order.
      const others = rest.slice(0, 7);
      const patched = await operator(s.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { limits: { friends_max: 3, friend_requests_pending_max: 2 } });
      assert.equal(patched.statusCode, 200, patched.body);
      const sent = await Promise.all(others.map((other) => f.request(me.accessToken, { player_id: other.playerId })));
      assert.equal(sent.filter((res) => res.statusCode === 201).length, 3);
      assert.ok(sent.every((res) => res.statusCode === 201 || res.statusCode === 409));

      const target = rest[7]!;
      const askers = rest.slice(8, 11);
      const received = await Promise.all(askers.map((asker) => f.request(asker.accessToken, { player_id: target.playerId })));
      assert.deepEqual(received.map((res) => res.statusCode).sort(), [201, 201, 409]);
    });

    it('a block racing an accept leaves the pair blocked and consistent', async () => {
      for (let round = 0; round < 4; round++) {
        const { project, players } = await projectWithPlayers(s, 2);
        const [a, b] = players as [TestPlayer, TestPlayer];
        json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
        const [blocked, accepted] = await Promise.all([f.block(a.accessToken, b.playerId), f.accept(b.accessToken, a.playerId)]);
        assert.equal(blocked.statusCode, 200, blocked.body);
        assert.ok([200, 404].includes(accepted.statusCode), accepted.body);
        assert.deepEqual(await storedRows(s, project.projectId), [[a.playerId, b.playerId, 'blocked']]);
      }
    });
  });
}
