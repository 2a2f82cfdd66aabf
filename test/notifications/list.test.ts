/**
 * GET /v1/notifications and DELETE /v1/notifications/{id}: oldest first, pages and their cursors, the
 * cacheable cursor (only what was created since), acting for a player with a secret key, and every refusal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { encodeCursor } from '../../src/http/schemas.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { assertProblem, json, list, listAll, projectWithPlayers, remove, sent, startSuite, type PageJson, type Suite } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`notification listing and deletes (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let players: TestPlayer[];

    before(async () => {
      s = await startSuite(kind);
      ({ project, players } = await projectWithPlayers(s.app, 4));
    });
    after(async () => s?.close());

    const sendTo = async (player: TestPlayer, subject: string) => (await sent(s.app, project, { player_ids: [player.playerId], subject })).items[0]!.id;

    it('lists oldest first, page by page, with next_cursor null on the last page', async () => {
      const player = players[0]!;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await sendTo(player, `n${i}`));
      const first = json<PageJson>(await list(s.app, player.accessToken, '?limit=2'));
      assert.deepEqual(first.items.map((item) => item.id), ids.slice(0, 2));
      assert.deepEqual(first.items.map((item) => item.subject), ['n0', 'n1']);
      assert.ok(first.next_cursor);
      const second = json<PageJson>(await list(s.app, player.accessToken, `?limit=2&cursor=${first.next_cursor}`));
      assert.deepEqual(second.items.map((item) => item.id), ids.slice(2, 4));
      const last = json<PageJson>(await list(s.app, player.accessToken, `?limit=2&cursor=${second.next_cursor}`));
      assert.deepEqual(last.items.map((item) => item.id), ids.slice(4));
      assert.equal(last.next_cursor, null);
      // The default page is 20.
      assert.equal(json<PageJson>(await list(s.app, player.accessToken)).items.length, 5);
    });

    it('cacheable_cursor later returns only the notifications created since', async () => {
      const player = players[1]!;
      // A player with none: the empty page's cacheable cursor still catches what comes later.
      const empty = json<PageJson>(await list(s.app, player.accessToken));
      assert.deepEqual(empty.items, []);
      assert.equal(empty.next_cursor, null);
      assert.equal(typeof empty.cacheable_cursor, 'string');
      const a = await sendTo(player, 'a');
      const b = await sendTo(player, 'b');
      const sinceEmpty = json<PageJson>(await list(s.app, player.accessToken, `?cursor=${empty.cacheable_cursor}`));
      assert.deepEqual(sinceEmpty.items.map((item) => item.id), [a, b]);

      // After a full page: only what came later.
      const c = await sendTo(player, 'c');
      const sinceFull = json<PageJson>(await list(s.app, player.accessToken, `?cursor=${sinceEmpty.cacheable_cursor}`));
      assert.deepEqual(sinceFull.items.map((item) => item.id), [c]);

      // Nothing new: an empty page whose cacheable cursor still works.
      const none = json<PageJson>(await list(s.app, player.accessToken, `?cursor=${sinceFull.cacheable_cursor}`));
      assert.deepEqual(none.items, []);
      const d = await sendTo(player, 'd');
      assert.deepEqual(json<PageJson>(await list(s.app, player.accessToken, `?cursor=${none.cacheable_cursor}`)).items.map((item) => item.id), [d]);

      // A partial page's cacheable cursor sits after its last item: the rest, then anything newer.
      const partial = json<PageJson>(await list(s.app, player.accessToken, '?limit=1'));
      assert.deepEqual(partial.items.map((item) => item.id), [a]);
      assert.deepEqual(json<PageJson>(await list(s.app, player.accessToken, `?cursor=${partial.cacheable_cursor}`)).items.map((item) => item.id), [b, c, d]);
    });

    it('acts for a player with a secret key and ?player_id=', async () => {
      const player = players[2]!;
      const id = await sendTo(player, 'for the server');
      const page = json<PageJson>(await list(s.app, project.secretKey, `?player_id=${player.playerId}`));
      assert.deepEqual(page.items.map((item) => item.id), [id]);
      assert.equal((await remove(s.app, project.secretKey, id, `?player_id=${player.playerId}`)).statusCode, 204);
      assert.deepEqual(json<PageJson>(await list(s.app, project.secretKey, `?player_id=${player.playerId}`)).items, []);
    });

    it('refuses bad queries with 400', async () => {
      const player = players[0]!;
      const bad: [string, string, string][] = [
        ['limit 0', player.accessToken, '?limit=0'],
        ['limit 101', player.accessToken, '?limit=101'],
        ['a limit that is not a number', player.accessToken, '?limit=ten'],
        ['a cursor that is not ours', player.accessToken, '?cursor=bm90LWEtY3Vyc29y'],
        ['a cursor with a negative id', player.accessToken, `?cursor=${encodeCursor({ after: '-1' })}`],
        ['a cursor with a bigger id than any', player.accessToken, `?cursor=${encodeCursor({ after: '99999999999999999999' })}`],
        ['a cursor of another shape', player.accessToken, `?cursor=${encodeCursor({ after: 5 })}`],
        ['a player token naming a player', player.accessToken, `?player_id=${player.playerId}`],
        ['a secret key without player_id', project.secretKey, ''],
        ['a player_id that is not an id', project.secretKey, '?player_id=abc'],
        ['an unknown query member', player.accessToken, '?sort=desc'],
      ];
      for (const [what, credential, query] of bad) assertProblem(await list(s.app, credential, query), 400, 'validation', what);
      assertProblem(await remove(s.app, project.secretKey, '1'), 400, 'validation', 'DELETE with a secret key without player_id');
      assertProblem(await remove(s.app, player.accessToken, '1', `?player_id=${player.playerId}`), 400, 'validation', 'DELETE with a player token naming a player');
    });

    it('is 404 for a player_id that is not a player of the project', async () => {
      assertProblem(await list(s.app, project.secretKey, '?player_id=999999999999'), 404, 'not-found');
      assertProblem(await remove(s.app, project.secretKey, '1', '?player_id=999999999999'), 404, 'not-found');
    });

    it('deletes a notification once (204, then 404); unknown ids and another player\'s are 404 and stay', async () => {
      const [owner, other] = [players[3]!, players[0]!];
      const kept = await sendTo(owner, 'kept');
      const gone = await sendTo(owner, 'gone');
      assertProblem(await remove(s.app, other.accessToken, kept), 404, 'not-found', "another player's");
      assertProblem(await remove(s.app, project.secretKey, kept, `?player_id=${other.playerId}`), 404, 'not-found', "another player's, by secret key");
      assertProblem(await remove(s.app, owner.accessToken, '999999999999'), 404, 'not-found', 'unknown');
      assertProblem(await remove(s.app, owner.accessToken, 'not-an-id'), 404, 'not-found', 'not an id at all');
      assert.equal((await remove(s.app, owner.accessToken, gone)).statusCode, 204);
      assertProblem(await remove(s.app, owner.accessToken, gone), 404, 'not-found', 'deleted twice');
      assert.deepEqual((await listAll(s.app, owner)).map((item) => item.id), [kept]);
    });

    it('refuses a publishable key (403) and no credential (401)', async () => {
      assertProblem(await list(s.app, project.publishableKey), 403, 'forbidden');
      assertProblem(await remove(s.app, project.publishableKey, '1'), 403, 'forbidden');
      assertProblem(await s.app.inject({ method: 'GET', url: '/v1/notifications' }), 401, 'unauthorized');
      assertProblem(await s.app.inject({ method: 'DELETE', url: '/v1/notifications/1' }), 401, 'unauthorized');
    });
  });
}
