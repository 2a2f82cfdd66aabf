/**
 * Presence over real sockets: online on connect and offline when the last session ends (not at a network
 * loss, which only detaches), pushed to online friends and subscribers exactly once, never across a block;
 * presence.update with its validation, sizes and budget; presence.subscribe all-or-nothing with the refused
 * ids, its cap, and subscriptions ended by a block; friends' presence over REST.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { operator, type TestPlayer } from '../support/tenancy.js';
import { Client, connect, listen, loseNetwork, realtimeUrl } from '../realtime/helpers.js';
import { befriend, friends, json, projectWithPlayers, startSuite, type RelationJson, type Suite } from '../social/helpers.js';

/** Sends a request and answers its reply, keeping the events that came first for later reads. */
async function ask(client: Client, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  client.send(frame);
  const skipped: unknown[] = [];
  for (;;) {
    const next = await client.next(5_000);
    if (next.id === frame.id && (next.op === 'ok' || next.op === 'error')) {
      client.frames.unshift(...skipped);
      return next;
    }
    skipped.push(next);
  }
}

type PresenceJson = { player_id: string; online: boolean; status: string | null; meta: unknown; last_seen_at: string | null; username: string | null };
const presencesIn = (frames: Record<string, unknown>[]) => frames.filter((f) => f.op === 'presence').map((f) => f.presence as PresenceJson);

for (const kind of databaseKinds()) {
  describe(`presence (${kind.name})`, () => {
    let s: Suite;
    let base: string;
    const clients: Client[] = [];
    const open = async (player: TestPlayer) => {
      const client = await connect(realtimeUrl(base, player.accessToken));
      clients.push(client);
      return client;
    };

    before(async () => {
      s = await startSuite(kind, { WS_MAX_CONNECTIONS_PER_PLAYER: '50', WS_RESUME_WINDOW_SECONDS: '2' });
      base = await listen(s.t);
    });
    after(async () => {
      for (const client of clients) client.ws.terminate();
      await s?.close();
    });

    it('a friend hears the player come online, its updates, and its going offline once its last session ends', async () => {
      const { players } = await projectWithPlayers(s, 2);
      const [a, b] = players as [TestPlayer, TestPlayer];
      await befriend(s.app, a, b);
      const bSocket = await open(b);
      const aSocket = await open(a);
      await eventually(async () => presencesIn(await bSocket.framesBeforePong()).some((p) => p.player_id === a.playerId && p.online), 5_000, 'online pushed');

      const updated = await ask(aSocket, { op: 'presence.update', id: 'u', status: 'away', meta: { map: 'docks' } });
      assert.equal(updated.op, 'ok');
      assert.deepEqual([(updated.presence as PresenceJson).status, (updated.presence as PresenceJson).meta], ['away', { map: 'docks' }]);
      await eventually(async () => presencesIn(await bSocket.framesBeforePong()).some((p) => p.status === 'away'), 5_000, 'the update pushed');
      assert.deepEqual(presencesIn(await aSocket.framesBeforePong()), [], 'a player is not sent its own presence');

      // REST: the friend relation carries the presence.
      const relation = json<RelationJson>(await friends(s.app).get(b.accessToken, a.playerId));
      assert.deepEqual([(relation.presence as PresenceJson).online, (relation.presence as PresenceJson).status], [true, 'away']);

      await aSocket.close();
      await eventually(async () => presencesIn(await bSocket.framesBeforePong()).some((p) => p.player_id === a.playerId && !p.online), 5_000, 'offline pushed');
      const offline = json<RelationJson>(await friends(s.app).get(b.accessToken, a.playerId)).presence as PresenceJson;
      assert.deepEqual([offline.online, offline.status, offline.meta], [false, null, null]);
      assert.ok(offline.last_seen_at, 'last_seen_at set');
    });

    it('a network loss keeps the player online through the resume window, then it goes offline', async () => {
      const { players } = await projectWithPlayers(s, 2);
      const [a, b] = players as [TestPlayer, TestPlayer];
      await befriend(s.app, a, b);
      const bSocket = await open(b);
      const aSocket = await open(a);
      await eventually(async () => presencesIn(await bSocket.framesBeforePong()).some((p) => p.online), 5_000, 'online');
      await loseNetwork(aSocket);
      assert.deepEqual(presencesIn(await bSocket.framesBeforePong()), [], 'still online while detached');
      await eventually(async () => presencesIn(await bSocket.framesBeforePong()).some((p) => !p.online), 10_000, 'offline after the window');
    });

    it('presence.update refuses bad input and changes nothing; past its budget it is rate-limited', async () => {
      const { project, players } = await projectWithPlayers(s, 1);
      const [a] = players as [TestPlayer];
      const res = await operator(s.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { limits: { presence_updates_per_min: 2 } });
      assert.equal(res.statusCode, 200, res.body);
      const socket = await open(a);
      const cases: [Record<string, unknown>, string][] = [
        [{}, 'validation'],
        [{ status: '' }, 'validation'],
        [{ status: 7 }, 'validation'],
        [{ status: 'é'.repeat(65) }, 'payload-too-large'],
        [{ meta: [1] }, 'validation'],
        [{ meta: 'x' }, 'validation'],
        [{ meta: { blob: 'x'.repeat(1100) } }, 'payload-too-large'],
      ];
      for (const [fields, code] of cases) {
        const answer = await ask(socket, { op: 'presence.update', id: 'bad', ...fields });
        assert.deepEqual([answer.op, answer.code], ['error', code], JSON.stringify(fields));
      }
      assert.equal((await ask(socket, { op: 'presence.update', id: '1', status: 'one' })).op, 'ok');
      assert.equal((await ask(socket, { op: 'presence.update', id: '2', meta: null })).op, 'ok');
      const limited = await ask(socket, { op: 'presence.update', id: '3', status: 'three' });
      assert.deepEqual([limited.code, limited.status], ['rate-limited', 429]);
      assert.ok((limited.retry_after_ms as number) > 0);
    });

    it('subscribe: all or nothing, the refused ids named the same for unknown, unrelated and blocked; a cap per connection', async () => {
      const { project, players } = await projectWithPlayers(s, 5);
      const [a, friend, stranger, blocker, second] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      await befriend(s.app, a, friend);
      await befriend(s.app, a, second);
      json(await friends(s.app).block(blocker.accessToken, a.playerId));
      const elsewhere = (await projectWithPlayers(s, 1)).players[0]!;
      const socket = await open(a);
      const refused = await ask(socket, { op: 'presence.subscribe', id: 's', player_ids: [friend.playerId, stranger.playerId, blocker.playerId, '999999999', elsewhere.playerId] });
      assert.deepEqual([refused.op, refused.code], ['error', 'not-found']);
      assert.deepEqual((refused.player_ids as string[]).sort(), [stranger.playerId, blocker.playerId, '999999999', elsewhere.playerId].sort());

      for (const bad of [[], 'x', [1], Array.from({ length: 101 }, (_, i) => String(i + 1))]) {
        const answer = await ask(socket, { op: 'presence.subscribe', id: 'bad', player_ids: bad });
        assert.equal(answer.code, 'validation', JSON.stringify(bad).slice(0, 40));
      }

      const ok = await ask(socket, { op: 'presence.subscribe', id: 'ok', player_ids: [friend.playerId] });
      assert.deepEqual((ok.presences as PresenceJson[]).map((p) => [p.player_id, p.online]), [[friend.playerId, false]]);

      assert.equal((await operator(s.app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { limits: { presence_max_subscriptions: 1 } })).statusCode, 200);
      const full = await ask(socket, { op: 'presence.subscribe', id: 'full', player_ids: [second.playerId] });
      assert.deepEqual([full.code, full.limit], ['limit-reached', 1]);
      assert.equal((await ask(socket, { op: 'presence.unsubscribe', id: 'un', player_ids: [friend.playerId, stranger.playerId] })).op, 'ok');
      assert.equal((await ask(socket, { op: 'presence.subscribe', id: 'again', player_ids: [second.playerId] })).op, 'ok');
    });

    it('a friend who also subscribed hears each change once; a block ends both, and nothing crosses it', async () => {
      const { players } = await projectWithPlayers(s, 3);
      const [a, b, witness] = players as [TestPlayer, TestPlayer, TestPlayer];
      await befriend(s.app, a, b);
      await befriend(s.app, a, witness);
      const aSocket = await open(a);
      const bSocket = await open(b);
      const witnessSocket = await open(witness);
      assert.equal((await ask(bSocket, { op: 'presence.subscribe', id: 's', player_ids: [a.playerId] })).op, 'ok');
      await bSocket.framesBeforePong();
      await ask(aSocket, { op: 'presence.update', id: 'u1', status: 'in a match' });
      await eventually(async () => bSocket.frames.some((f) => (f as { op?: string }).op === 'presence'), 5_000, 'the push');
      const heard = presencesIn(await bSocket.framesBeforePong()).filter((p) => p.status === 'in a match');
      assert.equal(heard.length, 1, 'once, not once per path');

      json(await friends(s.app).block(a.accessToken, b.playerId));
      // The subscription ends once the block's signal is handled: each round, an update the witness (still a
      // friend) hears must not reach b.
      let round = 0;
      await eventually(async () => {
        const mark = ++round;
        await ask(aSocket, { op: 'presence.update', id: `u-${mark}`, meta: { mark } });
        await eventually(async () => presencesIn(await witnessSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark), 5_000, 'the witness heard it');
        return !presencesIn(await bSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark);
      }, 5_000, 'nothing crosses the block');
      for (let mark = round + 1; mark <= round + 3; mark++) {
        await ask(aSocket, { op: 'presence.update', id: `after-${mark}`, meta: { mark } });
        await eventually(async () => presencesIn(await witnessSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark), 5_000, 'the witness heard it');
        assert.deepEqual(presencesIn(await bSocket.framesBeforePong()), [], `update ${mark} did not reach the blocked player`);
      }
      const resubscribe = await ask(bSocket, { op: 'presence.subscribe', id: 's2', player_ids: [a.playerId] });
      assert.equal(resubscribe.code, 'not-found');
    });

    it('party members hear each other and may follow each other; leaving the party ends what it allowed', async () => {
      const { players } = await projectWithPlayers(s, 3);
      const [a, b, witness] = players as [TestPlayer, TestPlayer, TestPlayer];
      await befriend(s.app, a, witness);
      const aSocket = await open(a);
      const bSocket = await open(b);
      const witnessSocket = await open(witness);
      const created = await ask(aSocket, { op: 'party.create', id: 'c', open: true });
      const partyId = (created.party as { id: string }).id;
      assert.equal((await ask(bSocket, { op: 'party.join', id: 'j', party_id: partyId })).op, 'ok');
      assert.equal((await ask(bSocket, { op: 'presence.subscribe', id: 's', player_ids: [a.playerId] })).op, 'ok');
      await bSocket.framesBeforePong();
      await ask(aSocket, { op: 'presence.update', id: 'u', status: 'in the party' });
      await eventually(async () => bSocket.frames.some((f) => (f as { op?: string }).op === 'presence'), 5_000, 'the push');
      assert.equal(presencesIn(await bSocket.framesBeforePong()).filter((p) => p.status === 'in the party').length, 1, 'once, as member and subscriber');

      assert.equal((await ask(bSocket, { op: 'party.leave', id: 'l', party_id: partyId })).op, 'ok');
      let round = 0;
      await eventually(async () => {
        const mark = ++round;
        await ask(aSocket, { op: 'presence.update', id: `m-${mark}`, meta: { mark } });
        await eventually(async () => presencesIn(await witnessSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark), 5_000, 'the witness heard it');
        return !presencesIn(await bSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark);
      }, 5_000, 'nothing reaches the former member');
      assert.equal((await ask(bSocket, { op: 'presence.subscribe', id: 's2', player_ids: [a.playerId] })).code, 'not-found');
    });

    it('a session may follow members of a channel it joined; when the followed player leaves, it ends', async () => {
      const { players } = await projectWithPlayers(s, 3);
      const [a, b, witness] = players as [TestPlayer, TestPlayer, TestPlayer];
      await befriend(s.app, a, witness);
      const [aSocket, bSocket, witnessSocket] = [await open(a), await open(b), await open(witness)];
      const room = `room:presence-${Math.random().toString(36).slice(2)}`;
      assert.equal((await ask(bSocket, { op: 'presence.subscribe', id: 's0', player_ids: [a.playerId] })).code, 'not-found', 'not before sharing a channel');
      assert.equal((await ask(aSocket, { op: 'channel.join', id: 'ja', channel: room })).op, 'ok');
      assert.equal((await ask(bSocket, { op: 'channel.join', id: 'jb', channel: room })).op, 'ok');
      assert.equal((await ask(bSocket, { op: 'presence.subscribe', id: 's1', player_ids: [a.playerId] })).op, 'ok');
      await ask(aSocket, { op: 'presence.update', id: 'u', status: 'chatting' });
      await eventually(async () => presencesIn(await bSocket.framesBeforePong()).some((p) => p.status === 'chatting'), 5_000, 'the subscriber hears it');

      assert.equal((await ask(aSocket, { op: 'channel.leave', id: 'l', channel: room })).op, 'ok');
      let round = 0;
      await eventually(async () => {
        const mark = ++round;
        await ask(aSocket, { op: 'presence.update', id: `m-${mark}`, meta: { mark } });
        await eventually(async () => presencesIn(await witnessSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark), 5_000, 'the witness heard it');
        return !presencesIn(await bSocket.framesBeforePong()).some((p) => (p.meta as { mark?: number } | null)?.mark === mark);
      }, 5_000, 'the subscription ended with the shared channel');
    });
  });
}
