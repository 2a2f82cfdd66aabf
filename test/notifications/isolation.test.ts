/**
 * Isolation: another project of the same tenant and another tenant never send to, list or delete this
 * project's players' notifications; a send naming another project's player is 404 and stores nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, list, listAll, projectWithPlayers, remove, send, sent, startSuite, storedCount, type Suite } from './helpers.js';

const body = { code: 'test.isolation', subject: 'Hi', content: {} };

for (const kind of databaseKinds()) {
  describe(`notifications isolation (${kind.name})`, () => {
    let s: Suite;
    let home: TestProject;
    let owner: TestPlayer;
    let ownerIds: string[];
    let outsiders: { name: string; project: TestProject; player: TestPlayer }[];

    before(async () => {
      s = await startSuite(kind);
      const tenant = await createTenant(s.app);
      const homeSetup = await projectWithPlayers(s.app, 1, tenant);
      home = homeSetup.project;
      owner = homeSetup.players[0]!;
      const sibling = await projectWithPlayers(s.app, 1, tenant);
      const foreign = await projectWithPlayers(s.app, 1);
      outsiders = [
        { name: 'a sibling project', project: sibling.project, player: sibling.players[0]! },
        { name: 'another tenant', project: foreign.project, player: foreign.players[0]! },
      ];
      ownerIds = [(await sent(s.app, home, { player_ids: [owner.playerId], subject: 'mine' })).items[0]!.id];
    });
    after(async () => s?.close());

    it("a send naming another project's player is 404 and stores nothing anywhere", async () => {
      for (const { name, project, player } of outsiders) {
        const counts = [await storedCount(s.database, home.projectId), await storedCount(s.database, project.projectId)];
        const res = await send(s.app, home.secretKey, { ...body, player_ids: [owner.playerId, player.playerId] });
        assert.deepEqual(assertProblem(res, 404, 'not-found', name).player_ids, [player.playerId], name);
        // And the other way round: their secret key cannot reach our player.
        const back = await send(s.app, project.secretKey, { ...body, player_ids: [owner.playerId] });
        assert.deepEqual(assertProblem(back, 404, 'not-found', name).player_ids, [owner.playerId], name);
        assert.deepEqual([await storedCount(s.database, home.projectId), await storedCount(s.database, project.projectId)], counts, name);
      }
    });

    it("another project's secret key cannot list or delete this project's player's notifications", async () => {
      for (const { name, project } of outsiders) {
        assertProblem(await list(s.app, project.secretKey, `?player_id=${owner.playerId}`), 404, 'not-found', name);
        assertProblem(await remove(s.app, project.secretKey, ownerIds[0]!, `?player_id=${owner.playerId}`), 404, 'not-found', name);
      }
      assert.deepEqual((await listAll(s.app, owner)).map((item) => item.id), ownerIds);
    });

    it("another project's players neither see nor delete them, and list only their own", async () => {
      for (const { name, project, player } of outsiders) {
        const theirs = (await sent(s.app, project, { player_ids: [player.playerId], subject: 'theirs' })).items[0]!.id;
        assertProblem(await remove(s.app, player.accessToken, ownerIds[0]!), 404, 'not-found', name);
        assert.deepEqual((await listAll(s.app, player)).map((item) => item.id), [theirs], name);
        // Nor does our player see or delete theirs.
        assertProblem(await remove(s.app, owner.accessToken, theirs), 404, 'not-found', name);
      }
      assert.deepEqual((await listAll(s.app, owner)).map((item) => item.id), ownerIds);
    });
  });
}
