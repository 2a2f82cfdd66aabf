/**
 * friend events on real sockets: after each committed change the other player's connections get the relation
 * as they now see it (none once it ended, a block included); the acting player's get nothing, and nothing is
 * sent when the other player's view did not change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RELATION_SIGNAL } from '../../src/modules/social/api.js';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import type { TestPlayer } from '../support/tenancy.js';
import { Client, connect, realtimeUrl } from '../realtime/helpers.js';
import { friends, json, projectWithPlayers, startSuite, usernameOf, type Suite } from './helpers.js';

interface FriendFrame {
  op: 'friend';
  seq: number;
  player: { id: string; username: string | null };
  state: string;
}

/** The friend events among the frames a session has been sent so far. */
const friendEvents = async (client: Client) => (await client.framesBeforePong()).filter((frame) => frame.op === 'friend') as unknown as FriendFrame[];

for (const kind of databaseKinds()) {
  describe(`friend events on the realtime socket (${kind.name})`, () => {
    let s: Suite;
    let f: ReturnType<typeof friends>;
    let base: string;
    const clients: Client[] = [];
    const open = async (player: TestPlayer) => {
      const client = await connect(realtimeUrl(base, player.accessToken));
      clients.push(client);
      return client;
    };

    before(async () => {
      s = await startSuite(kind, { WS_MAX_CONNECTIONS_PER_PLAYER: '50' });
      f = friends(s.app);
      await s.app.listen({ port: 0, host: '127.0.0.1' });
      const address = s.app.server.address();
      assert.ok(address && typeof address === 'object');
      base = `http://127.0.0.1:${address.port}`;
    });
    after(async () => {
      for (const client of clients) client.ws.terminate();
      await s?.close();
    });

    it("each change reaches every connection of the other player, as that player sees it; the actor's get none", async () => {
      const { players } = await projectWithPlayers(s, 2);
      const [a, b] = players as [TestPlayer, TestPlayer];
      const [aSocket, bFirst, bSecond] = [await open(a), await open(b), await open(b)];
      const asA = { id: a.playerId, username: await usernameOf(s, a.playerId) };
      const asB = { id: b.playerId, username: await usernameOf(s, b.playerId) };
      const seen = async (client: Client) => (await friendEvents(client)).map((frame) => [frame.player, frame.state]);

      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      for (const client of [bFirst, bSecond]) {
        const [event] = await friendEvents(client);
        assert.deepEqual(Object.keys(event!).sort(), ['op', 'player', 'seq', 'state']);
        assert.equal(typeof event!.seq, 'number');
        assert.deepEqual([event!.player, event!.state], [asA, 'invite_received']);
      }
      assert.deepEqual(await seen(aSocket), [], 'the actor');

      json(await f.request(a.accessToken, { player_id: b.playerId }), 200);
      assert.deepEqual(await seen(bFirst), [], 'asking again changes nothing');

      json(await f.accept(b.accessToken, a.playerId));
      assert.deepEqual(await seen(aSocket), [[asB, 'friend']]);
      assert.deepEqual(await seen(bFirst), []);

      assert.equal((await f.remove(a.accessToken, b.playerId)).statusCode, 204);
      assert.deepEqual(await seen(bFirst), [[asA, 'none']]);
      assert.deepEqual(await seen(bSecond), [[asA, 'none']]);

      json(await f.request(b.accessToken, { player_id: a.playerId }), 201);
      assert.deepEqual(await seen(aSocket), [[asB, 'invite_received']]);
      assert.equal((await f.decline(a.accessToken, b.playerId)).statusCode, 204);
      assert.deepEqual(await seen(bFirst), [[asA, 'none']], 'a decline ends it');
      assert.deepEqual(await seen(bSecond), [[asA, 'none']]);
    });

    it('a block shows the blocked player none, never blocked; blocking again and unblocking send nothing', async () => {
      const { players } = await projectWithPlayers(s, 3);
      const [a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer];
      const [aSocket, bSocket, cSocket] = [await open(a), await open(b), await open(c)];
      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      json(await f.accept(b.accessToken, a.playerId));
      await friendEvents(aSocket);
      await friendEvents(bSocket);

      json(await f.block(a.accessToken, b.playerId));
      assert.deepEqual((await friendEvents(bSocket)).map((frame) => [frame.player.id, frame.state]), [[a.playerId, 'none']]);
      json(await f.block(a.accessToken, b.playerId));
      assert.equal((await f.unblock(a.accessToken, b.playerId)).statusCode, 204);
      assert.deepEqual(await friendEvents(bSocket), [], 'nothing changed for b');

      // Blocking a player with no relation: that player's view does not change either.
      json(await f.block(a.accessToken, c.playerId));
      assert.deepEqual(await friendEvents(cSocket), []);
      assert.deepEqual(await friendEvents(aSocket), [], 'the actor never hears of its own changes');
    });

    it("every committed change signals both players' sessions (for other modules), never the client", async () => {
      const { players } = await projectWithPlayers(s, 2);
      const [a, b] = players as [TestPlayer, TestPlayer];
      const heard: [string, string, string][] = [];
      s.t.provisions.realtime.onSignal(RELATION_SIGNAL, (session, signal) => {
        if (session.playerId === a.playerId || session.playerId === b.playerId) heard.push([session.playerId, String(signal.a), String(signal.b)]);
      });
      const [aSocket, bSocket] = [await open(a), await open(b)];
      json(await f.request(a.accessToken, { player_id: b.playerId }), 201);
      json(await f.request(a.accessToken, { player_id: b.playerId }), 200); // unchanged: no signal
      json(await f.block(b.accessToken, a.playerId));
      await eventually(() => heard.length >= 4, 5_000, 'the signals');
      assert.deepEqual(heard.sort(), [
        [a.playerId, a.playerId, b.playerId],
        [a.playerId, b.playerId, a.playerId],
        [b.playerId, a.playerId, b.playerId],
        [b.playerId, b.playerId, a.playerId],
      ].sort());
      for (const socket of [aSocket, bSocket]) {
        assert.ok((await socket.framesBeforePong()).every((frame) => !String(frame.op).startsWith('$')), 'no signal reaches a client');
      }
    });
  });
}
