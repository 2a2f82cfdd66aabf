/**
 * Isolation: a player of a sibling project (same tenant) or of another tenant is unknown here, on every route
 * and by username, and this project's relations are never seen or changed from there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
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
  usernameOf,
  type Suite,
} from './helpers.js';

const UNKNOWN = '999999999999999999';

for (const kind of databaseKinds()) {
  describe(`social graph isolation (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;
    let home: TestProject;
    let owner: TestPlayer;
    let friend: TestPlayer;
    let outsiders: { name: string; project: TestProject; player: TestPlayer }[];

    before(async () => {
      s = await startSuite(kind);
      f = friends(s.app);
      const tenant = await createTenant(s.app);
      const homeSetup = await projectWithPlayers(s, 2, tenant);
      home = homeSetup.project;
      [owner, friend] = homeSetup.players as [TestPlayer, TestPlayer];
      await befriend(s.app, owner, friend);
      const sibling = await projectWithPlayers(s, 1, tenant);
      const foreign = await projectWithPlayers(s, 1);
      outsiders = [
        { name: 'a sibling project', project: sibling.project, player: sibling.players[0]! },
        { name: 'another tenant', project: foreign.project, player: foreign.players[0]! },
      ];
    });
    after(async () => s?.close());

    it("another project's player is 404 on every route, exactly as an unknown id, both ways", async () => {
      const rows = await storedRows(s, home.projectId);
      for (const { name, project, player } of outsiders) {
        const theirRows = await storedRows(s, project.projectId);
        for (const [from, to] of [
          [owner, player],
          [player, owner],
        ] as const) {
          const routes = {
            request: [await f.request(from.accessToken, { player_id: to.playerId }), await f.request(from.accessToken, { player_id: UNKNOWN })],
            get: [await f.get(from.accessToken, to.playerId), await f.get(from.accessToken, UNKNOWN)],
            accept: [await f.accept(from.accessToken, to.playerId), await f.accept(from.accessToken, UNKNOWN)],
            decline: [await f.decline(from.accessToken, to.playerId), await f.decline(from.accessToken, UNKNOWN)],
            remove: [await f.remove(from.accessToken, to.playerId), await f.remove(from.accessToken, UNKNOWN)],
            block: [await f.block(from.accessToken, to.playerId), await f.block(from.accessToken, UNKNOWN)],
            unblock: [await f.unblock(from.accessToken, to.playerId), await f.unblock(from.accessToken, UNKNOWN)],
          };
          for (const [route, [theirs, unknown]] of Object.entries(routes)) {
            assertProblem(theirs!, 404, 'not-found', `${name} ${route}`);
            assert.deepEqual(sameness(theirs!), sameness(unknown!), `${name} ${route}`);
          }
        }
        const username = await usernameOf(s, owner.playerId);
        assertProblem(await f.request(player.accessToken, { username }), 404, 'not-found', `${name} by username`);
        assert.deepEqual(await storedRows(s, project.projectId), theirRows, name);
      }
      assert.deepEqual(await storedRows(s, home.projectId), rows);
    });

    it("another project's secret key cannot act for this project's players", async () => {
      for (const { name, project, player } of outsiders) {
        const query = `?player_id=${owner.playerId}`;
        assertProblem(await f.list(project.secretKey, query), 404, 'not-found', name);
        assertProblem(await f.get(project.secretKey, friend.playerId, query), 404, 'not-found', name);
        assertProblem(await f.request(project.secretKey, { player_id: player.playerId }, query), 404, 'not-found', name);
        assertProblem(await f.remove(project.secretKey, friend.playerId, query), 404, 'not-found', name);
        assertProblem(await f.block(project.secretKey, friend.playerId, query), 404, 'not-found', name);
        assert.deepEqual(await listAll(s.app, player.accessToken), [], `${name} lists nothing of ours`);
      }
      assert.deepEqual((await listAll(s.app, owner.accessToken)).map((item) => [item.player.id, item.state]), [[friend.playerId, 'friend']]);
      assert.equal(json<{ state: string }>(await f.get(home.secretKey, owner.playerId, `?player_id=${friend.playerId}`)).state, 'friend');
    });
  });
}
