/**
 * Notifications on real sockets: a send reaches every connection of its player at once (persistent or not,
 * over REST or the api); a new session is told how many are pending in its welcome and is sent up to
 * NOTIFICATIONS_ON_CONNECT of them right after it, oldest first, which are then marked delivered.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import type { TestPlayer, TestProject } from '../support/tenancy.js';
import { Client, connect, realtimeUrl } from '../realtime/helpers.js';
import { UNLIMITED, listAll, projectWithPlayers, sent, type NotificationJson } from './helpers.js';

const ON_CONNECT = 2;
const ENV = { ...UNLIMITED, NOTIFICATIONS_ON_CONNECT: String(ON_CONNECT), WS_MAX_CONNECTIONS_PER_PLAYER: '50' };

interface NotificationFrame {
  op: string;
  seq: number;
  notification: NotificationJson;
}

async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

for (const kind of databaseKinds()) {
  describe(`notifications on the realtime socket (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let base: string;
    let project: TestProject;
    let players: TestPlayer[];
    const clients: Client[] = [];
    const open = async (player: TestPlayer) => {
      const client = await connect(realtimeUrl(base, player.accessToken));
      clients.push(client);
      return client;
    };

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: ENV });
      base = await listen(t);
      ({ project, players } = await projectWithPlayers(t.app, 4));
    });
    after(async () => {
      for (const client of clients) client.ws.terminate();
      await t?.close();
      await database?.drop();
    });

    it('reaches every connection of the player as soon as it is sent, and no one else', async () => {
      const [player, bystander] = players as [TestPlayer, TestPlayer];
      const [first, second, other] = [await open(player), await open(player), await open(bystander)];
      for (const client of [first, second, other]) assert.equal(client.welcome?.notifications_pending, 0);

      const answer = await sent(t.app, project, { player_ids: [player.playerId], code: 'reward.granted', subject: 'Gold', content: { gold: 5 } });
      const [listed] = await listAll(t.app, player);
      for (const client of [first, second]) {
        const frame = (await client.next(5_000)) as unknown as NotificationFrame;
        assert.equal(frame.op, 'notification');
        assert.equal(typeof frame.seq, 'number');
        assert.equal(frame.notification.id, answer.items[0]!.id);
        assert.deepEqual(frame.notification, listed);
      }
      // A non-persistent one comes live the same way.
      const live = await sent(t.app, project, { player_ids: [player.playerId], code: 'match.countdown', subject: '3', persistent: false });
      for (const client of [first, second]) {
        const frame = (await client.next(5_000)) as unknown as NotificationFrame;
        assert.equal(frame.notification.id, live.items[0]!.id);
        assert.equal(frame.notification.persistent, false);
      }
      assert.deepEqual(await other.framesBeforePong(), [], 'the bystander got nothing');
    });

    it("delivers what other modules send through the api, with ggscale's code and the sender", async () => {
      const [player, sender] = [players[2]!, players[3]!];
      const client = await open(player);
      const scope = { tenantId: project.tenantId, projectId: project.projectId };
      const [answer] = await t.provisions.notifications.send(scope, [
        { playerId: player.playerId, code: 'ggscale.friend_request', subject: 'You have a new friend request', content: { from: sender.playerId }, senderId: sender.playerId },
      ]);
      const frame = (await client.next(5_000)) as unknown as NotificationFrame;
      assert.deepEqual(frame.notification, answer!.notification);
      assert.equal(frame.notification.sender_id, sender.playerId);
    });

    it('on connect: notifications_pending in the welcome, then up to NOTIFICATIONS_ON_CONNECT of them, oldest first, marked delivered', async () => {
      const { project: home, players: fresh } = await projectWithPlayers(t.app, 1);
      const offline = fresh[0]!;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await sent(t.app, home, { player_ids: [offline.playerId], subject: `n${i}` })).items[0]!.id);
      // Live only: never pending, never sent on connect.
      await sent(t.app, home, { player_ids: [offline.playerId], subject: 'gone', persistent: false });

      const first = await open(offline);
      assert.equal(first.welcome?.notifications_pending, 3);
      const sentOnConnect = (await first.framesBeforePong()) as unknown as NotificationFrame[];
      assert.deepEqual(sentOnConnect.map((frame) => [frame.op, frame.notification.id]), ids.slice(0, ON_CONNECT).map((id) => ['notification', id]));
      assert.ok(sentOnConnect.every((frame) => frame.notification.persistent));
      first.ws.terminate();

      // The next session is told of the one left, and gets it.
      const second = await open(offline);
      assert.equal(second.welcome?.notifications_pending, 1);
      assert.deepEqual(((await second.framesBeforePong()) as unknown as NotificationFrame[]).map((frame) => frame.notification.id), ids.slice(ON_CONNECT));
      second.ws.terminate();

      const third = await open(offline);
      assert.equal(third.welcome?.notifications_pending, 0);
      assert.deepEqual(await third.framesBeforePong(), []);
      // Delivered is not deleted: the listing still has them all.
      assert.deepEqual((await listAll(t.app, offline)).map((item) => item.id), ids);
    });

    it('a live send does not mark a notification delivered: the next session gets it again (clients dedupe by id)', async () => {
      const { project: home, players: fresh } = await projectWithPlayers(t.app, 1);
      const player = fresh[0]!;
      const connected = await open(player);
      const id = (await sent(t.app, home, { player_ids: [player.playerId], subject: 'while online' })).items[0]!.id;
      assert.equal(((await connected.next(5_000)) as unknown as NotificationFrame).notification.id, id);
      const next = await open(player);
      assert.equal(next.welcome?.notifications_pending, 1);
      assert.deepEqual(((await next.framesBeforePong()) as unknown as NotificationFrame[]).map((frame) => frame.notification.id), [id]);
    });
  });
}
