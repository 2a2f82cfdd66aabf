/**
 * The api other modules send through: ggscale's own codes and a sender, a store that commits or rolls back
 * with the caller's transaction, the same rules as REST (as problems), and batches that collapse.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { AppError } from '../../src/internal/errors/app-error.js';
import type { NewNotification, NotificationsApi } from '../../src/modules/notifications/api.js';
import { listAll, projectWithPlayers, startSuite, storedCount, type Suite } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`the notifications api (${kind.name})`, () => {
    let s: Suite;
    let api: NotificationsApi;
    let project: TestProject;
    let players: TestPlayer[];
    let scope: { tenantId: string; projectId: string };

    before(async () => {
      s = await startSuite(kind);
      api = s.t.provisions.notifications;
      ({ project, players } = await projectWithPlayers(s.app, 3));
      scope = { tenantId: project.tenantId, projectId: project.projectId };
    });
    after(async () => s?.close());

    const request = (player: TestPlayer, fields: Partial<NewNotification> = {}): NewNotification => ({
      playerId: player.playerId,
      code: 'ggscale.friend_request',
      subject: 'You have a new friend request',
      content: { from: players[1]!.playerId },
      senderId: players[1]!.playerId,
      ...fields,
    });

    it("sends ggscale's own codes with a sender, answering each notification in order", async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const answer = await api.send(scope, [request(a), request(b, { code: 'ggscale.dm', subject: 'New message', senderId: null })]);
      assert.deepEqual(answer.map((item) => [item.playerId, item.notification.code]), [
        [a.playerId, 'ggscale.friend_request'],
        [b.playerId, 'ggscale.dm'],
      ]);
      const listed = (await listAll(s.app, a)).find((item) => item.id === answer[0]!.notification.id);
      assert.deepEqual(listed, answer[0]!.notification);
      assert.equal(listed?.sender_id, players[1]!.playerId);
      assert.equal((await listAll(s.app, b)).find((item) => item.id === answer[1]!.notification.id)?.sender_id, null);
    });

    it("stores inside the caller's transaction: nothing when it rolls back, everything when it commits", async () => {
      const player = players[2]!;
      const before = await storedCount(s.database, project.projectId);
      await assert.rejects(
        s.t.db.withTenant(scope, async (tx) => {
          await api.store(tx, scope, [request(player, { code: 'ggscale.match_found', subject: 'Match found' })]);
          throw new Error('the caller changed its mind');
        }),
        /changed its mind/,
      );
      assert.equal(await storedCount(s.database, project.projectId), before);

      const deliver = await s.t.db.withTenant(scope, (tx) => api.store(tx, scope, [request(player, { code: 'ggscale.match_found', subject: 'Match found' })]));
      await deliver();
      assert.equal(await storedCount(s.database, project.projectId), before + 1);
      assert.ok((await listAll(s.app, player)).some((item) => item.code === 'ggscale.match_found'));
    });

    it('refuses what REST refuses, as problems, and stores nothing', async () => {
      const player = players[0]!;
      const before = await storedCount(s.database, project.projectId);
      const refusals: [string, NewNotification[], string][] = [
        ['a bad code', [request(player, { code: 'Not A Code' })], 'validation'],
        ['an empty subject', [request(player, { subject: '' })], 'validation'],
        ['content over 4 KiB', [request(player, { content: { text: 'x'.repeat(5000) } })], 'payload-too-large'],
        ['a NUL in the content', [request(player, { content: { text: 'a\u0000b' } })], 'validation'],
        ['a sender that is not an id', [request(player, { senderId: 'someone' })], 'validation'],
        ['a player of no project', [request(player), { ...request(player), playerId: '999999999999' }], 'not-found'],
      ];
      for (const [what, items, slug] of refusals) {
        await assert.rejects(api.send(scope, items), (error: unknown) => error instanceof AppError && error.slug === slug, what);
      }
      // Another project's player is not one of this project's.
      const other = await projectWithPlayers(s.app, 1);
      await assert.rejects(api.send(scope, [request(other.players[0]!)]), (error: unknown) => error instanceof AppError && error.slug === 'not-found');
      assert.equal(await storedCount(s.database, project.projectId), before);
    });

    it('keeps only the last of a batch with one code and collapse key per player; non-persistent ones are never stored', async () => {
      const fresh = await projectWithPlayers(s.app, 1);
      const player = fresh.players[0]!;
      const here = { tenantId: fresh.project.tenantId, projectId: fresh.project.projectId };
      const answer = await api.send(here, [
        request(player, { code: 'ggscale.dm', subject: 'one', collapseKey: 'from-1' }),
        request(player, { code: 'ggscale.dm', subject: 'two', collapseKey: 'from-1' }),
        request(player, { code: 'ggscale.typing', subject: 'typing', persistent: false }),
      ]);
      assert.equal(answer.length, 3);
      assert.match(answer[2]!.notification.id, /^live_/);
      assert.equal(answer[2]!.notification.persistent, false);
      const listed = await listAll(s.app, player);
      assert.deepEqual(listed.map((item) => item.subject), ['two']);
      assert.equal(listed[0]!.id, answer[1]!.notification.id);
    });
  });
}
