/**
 * What other modules use (api.ts): the relation as one player sees another, blocks either way, friends, the
 * listener called after each committed change (never for one that changed nothing, and a failing listener
 * changes no answer), and the presence source that fills friends' presence.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import type { TestPlayer } from '../support/tenancy.js';
import type { SocialApi } from '../../src/modules/social/api.js';
import { befriend, friends, json, listAll, projectWithPlayers, startSuite, type RelationJson, type Suite } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`the social api (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;
    let api: SocialApi;

    before(async () => {
      s = await startSuite(kind);
      f = friends(s.app);
      api = s.t.provisions.social;
    });
    after(async () => s?.close());

    it('relation, blockedEither, blockedBy, blockersOf and friendIds', async () => {
      const { project, players } = await projectWithPlayers(s, 5);
      const [a, b, c, d, e] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      const scope = { tenantId: project.tenantId, projectId: project.projectId };
      await befriend(s.app, a, b);
      json(await f.request(a.accessToken, { player_id: c.playerId }), 201);
      json(await f.block(a.accessToken, d.playerId));
      json(await f.block(e.accessToken, a.playerId));

      const views = await Promise.all([b, c, d, e].map((other) => api.relation(scope, a.playerId, other.playerId)));
      assert.deepEqual(views, ['friend', 'invite_sent', 'blocked', 'none']);
      assert.equal(await api.relation(scope, c.playerId, a.playerId), 'invite_received');
      assert.equal(await api.relation(scope, d.playerId, a.playerId), 'none', 'a block is not shown to the blocked');
      assert.equal(await api.relation(scope, e.playerId, a.playerId), 'blocked');

      assert.equal(await api.blockedEither(scope, a.playerId, d.playerId), true);
      assert.equal(await api.blockedEither(scope, d.playerId, a.playerId), true);
      assert.equal(await api.blockedEither(scope, a.playerId, e.playerId), true);
      assert.equal(await api.blockedEither(scope, a.playerId, b.playerId), false);

      assert.deepEqual(await api.blockedBy(scope, a.playerId), [d.playerId]);
      assert.deepEqual(await api.blockersOf(scope, a.playerId), [e.playerId]);
      assert.deepEqual(await api.friendIds(scope, a.playerId), [b.playerId]);
      assert.deepEqual(await api.friendIds(scope, b.playerId), [a.playerId]);

      // What is not an id names no player.
      assert.equal(await api.relation(scope, 'not-an-id', b.playerId), 'none');
      assert.equal(await api.blockedEither(scope, a.playerId, '0'), false);
      assert.deepEqual(await api.friendIds(scope, '1e3'), []);

      // Another project sees none of it.
      const other = await projectWithPlayers(s, 1);
      const otherScope = { tenantId: other.project.tenantId, projectId: other.project.projectId };
      assert.equal(await api.relation(otherScope, a.playerId, b.playerId), 'none');
      assert.deepEqual(await api.friendIds(otherScope, a.playerId), []);
      assert.deepEqual(await api.blockedBy(otherScope, a.playerId), []);
    });

    it('calls the listeners after each committed change, never for one that changed nothing; a failing one changes no answer', async () => {
      const { project, players } = await projectWithPlayers(s, 2);
      const [a, b] = players as [TestPlayer, TestPlayer];
      const heard: [string, string, string][] = [];
      api.onRelationChanged(async (scope, x, y) => {
        if (scope.projectId !== project.projectId) return;
        // By the time a listener runs, the change is committed and visible.
        heard.push([x, y, await api.relation(scope, x, y)]);
      });
      api.onRelationChanged(() => {
        throw new Error('a broken listener');
      });

      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      json(await f.request(a.accessToken, { player_id: b.playerId }), 200);
      json(await f.accept(b.accessToken, a.playerId));
      json(await f.block(a.accessToken, b.playerId));
      json(await f.block(a.accessToken, b.playerId));
      assert.equal((await f.unblock(a.accessToken, b.playerId)).statusCode, 204);
      assert.deepEqual(heard, [
        [a.playerId, b.playerId, 'invite_sent'],
        [b.playerId, a.playerId, 'friend'],
        [a.playerId, b.playerId, 'blocked'],
        [a.playerId, b.playerId, 'none'],
      ]);
      assert.ok(s.t.logs.records().some((record) => record.msg === 'social: a relation listener failed'));
    });

    it("the presence source fills friends' presence, and only theirs", async () => {
      const { players } = await projectWithPlayers(s, 3);
      const [a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer];
      await befriend(s.app, a, b);
      json(await f.request(a.accessToken, { player_id: c.playerId }), 201);
      const asked: string[][] = [];
      api.usePresence(async (_scope, ids) => {
        asked.push([...ids]);
        return new Map(ids.map((id) => [id, { status: 'online', id }]));
      });
      const listed = await listAll(s.app, a.accessToken);
      assert.deepEqual(listed.map((item) => [item.player.id, item.presence]), [
        [b.playerId, { status: 'online', id: b.playerId }],
        [c.playerId, null],
      ]);
      assert.deepEqual(asked, [[b.playerId]], 'asked only about friends');
      assert.deepEqual(json<RelationJson>(await f.get(a.accessToken, b.playerId)).presence, { status: 'online', id: b.playerId });
      assert.equal(json<RelationJson>(await f.get(a.accessToken, c.playerId)).presence, null);
    });
  });
}
