/**
 * Isolation: another player, another project of the same tenant and another tenant — by player token and
 * by secret key — never read, list, overwrite or delete an object; the same names in two projects are
 * independent objects.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, deleteObject, getObject, headObject, json, listObjects, putObject, startSuite, type PageJson, type StorageSuite } from './helpers.js';

interface Caller {
  name: string;
  credential: string;
}

for (const kind of databaseKinds()) {
  describe(`storage isolation (${kind.name})`, () => {
    let s: StorageSuite;
    let home: TestProject;
    let owner: TestPlayer;
    let sibling: TestProject; // another project of the same tenant
    let foreign: TestProject; // another tenant
    let outsiders: Caller[];
    let neighbour: TestPlayer; // another player of the same project

    before(async () => {
      s = await startSuite(kind);
      const tenant = await createTenant(s.t.app);
      home = await createProject(s.t.app, tenant);
      sibling = await createProject(s.t.app, tenant);
      foreign = await createProject(s.t.app, await createTenant(s.t.app));
      owner = await createPlayer(s.t.app, home);
      neighbour = await createPlayer(s.t.app, home);
      const siblingPlayer = await createPlayer(s.t.app, sibling);
      const foreignPlayer = await createPlayer(s.t.app, foreign);
      outsiders = [
        { name: 'player of a sibling project', credential: siblingPlayer.accessToken },
        { name: 'secret key of a sibling project', credential: sibling.secretKey },
        { name: 'player of another tenant', credential: foreignPlayer.accessToken },
        { name: 'secret key of another tenant', credential: foreign.secretKey },
      ];
      // The owner's private object, its public-read object, and a project-owned private object.
      assert.equal((await putObject(s.t.app, owner.accessToken, 'saves/slot', 'owner private')).statusCode, 201);
      assert.equal((await putObject(s.t.app, home.secretKey, `saves/public?owner=${owner.playerId}&acl=public-read`, 'owner public')).statusCode, 201);
      assert.equal((await putObject(s.t.app, home.secretKey, 'saves/slot', 'project private')).statusCode, 201);
    });
    after(async () => s?.close());

    async function assertIntact(): Promise<void> {
      assert.equal((await getObject(s.t.app, owner.accessToken, 'saves/slot')).body, 'owner private');
      assert.equal((await getObject(s.t.app, owner.accessToken, 'saves/public')).body, 'owner public');
      assert.equal((await getObject(s.t.app, home.secretKey, 'saves/slot')).body, 'project private');
      const listed = (await listObjects(s.t.app, owner.accessToken, 'saves')).json<PageJson>();
      assert.deepEqual(listed.items.map((item) => item.key), ['public', 'slot']);
    }

    it('another player of the project reads only the public-read object, and never lists, writes or deletes', async () => {
      const as = neighbour.accessToken;
      const ownerQuery = `?owner=${owner.playerId}`;
      assertProblem(await getObject(s.t.app, as, `saves/slot${ownerQuery}`), 404, 'not-found');
      assertProblem(await getObject(s.t.app, as, 'saves/slot?owner=project'), 404, 'not-found');
      assert.equal((await getObject(s.t.app, as, `saves/public${ownerQuery}`)).body, 'owner public');
      assertProblem(await listObjects(s.t.app, as, `saves${ownerQuery}`), 403, 'forbidden');
      assertProblem(await putObject(s.t.app, as, `saves/slot${ownerQuery}`, 'overwritten'), 403, 'forbidden');
      assertProblem(await deleteObject(s.t.app, as, `saves/slot${ownerQuery}`), 403, 'forbidden');
      assertProblem(await deleteObject(s.t.app, as, 'saves/slot?owner=project'), 403, 'forbidden');
      // Its own namespace is separate: writing and deleting "saves/slot" there touches only its own object.
      assert.equal((await putObject(s.t.app, as, 'saves/slot', 'neighbour')).statusCode, 201);
      assert.equal((await deleteObject(s.t.app, as, 'saves/slot')).statusCode, 204);
      assert.deepEqual((await listObjects(s.t.app, as, 'saves')).json<PageJson>().items, []);
      await assertIntact();
    });

    it('players and secret keys of a sibling project or another tenant never read, list, overwrite or delete', async () => {
      for (const { name, credential } of outsiders) {
        for (const query of [`?owner=${owner.playerId}`, '']) {
          assertProblem(await getObject(s.t.app, credential, `saves/slot${query}`), 404, 'not-found', `${name} GET ${query}`);
          assertProblem(await getObject(s.t.app, credential, `saves/public${query}`), 404, 'not-found', `${name} GET public ${query}`);
          assert.equal((await headObject(s.t.app, credential, `saves/public${query}`)).statusCode, 404, `${name} HEAD ${query}`);
        }
        const isSecret = credential.startsWith('ggs_sk_');
        // A secret key naming a player of another project: 404 (not a player of its project).
        const listForeign = await listObjects(s.t.app, credential, `saves?owner=${owner.playerId}`);
        assertProblem(listForeign, isSecret ? 404 : 403, isSecret ? 'not-found' : 'forbidden', `${name} list`);
        const putForeign = await putObject(s.t.app, credential, `saves/slot?owner=${owner.playerId}`, 'overwritten');
        assertProblem(putForeign, isSecret ? 404 : 403, isSecret ? 'not-found' : 'forbidden', `${name} PUT`);
        const deleteForeign = await deleteObject(s.t.app, credential, `saves/slot?owner=${owner.playerId}`);
        assertProblem(deleteForeign, isSecret ? 404 : 403, isSecret ? 'not-found' : 'forbidden', `${name} DELETE`);
        // Its own listing shows nothing of ours.
        const own = await listObjects(s.t.app, credential, 'saves');
        assert.equal(own.statusCode, 200, `${name}: ${own.body}`);
        assert.deepEqual(own.json<PageJson>().items, [], name);
      }
      await assertIntact();
    });

    it('the same collection and key in two projects are independent objects', async () => {
      const theirs = await putObject(s.t.app, sibling.secretKey, 'saves/slot', 'sibling project');
      assert.equal(theirs.statusCode, 201, theirs.body);
      const foreignWrite = await putObject(s.t.app, foreign.secretKey, 'saves/slot', 'foreign tenant', { 'if-none-match': '*' });
      assert.equal(foreignWrite.statusCode, 201, foreignWrite.body);
      // Our ETag means nothing there, and theirs nothing here.
      const ourEtag = (await getObject(s.t.app, home.secretKey, 'saves/slot')).headers.etag as string;
      assertProblem(await putObject(s.t.app, sibling.secretKey, 'saves/slot', 'x', { 'if-match': ourEtag }), 412, 'precondition-failed');
      assertProblem(await deleteObject(s.t.app, home.secretKey, 'saves/slot', { 'if-match': theirs.headers.etag as string }), 412, 'precondition-failed');

      assert.equal((await deleteObject(s.t.app, sibling.secretKey, 'saves/slot')).statusCode, 204);
      assert.equal((await getObject(s.t.app, foreign.secretKey, 'saves/slot')).body, 'foreign tenant');
      assert.notEqual(json(foreignWrite).version, ourEtag.slice(1, -1));
      await assertIntact();
    });
  });
}
