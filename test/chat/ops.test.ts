/**
 * The channel ops on real sockets: join (members, history, last_seq, a second join answered the same without
 * a second presence event), leave, send (stored, seq, the event to every joined connection, the sender's
 * included, after its reply), presence joins and leaves by player (first and last connection), and every
 * refusal: bad and reserved ids, dm with oneself, unknown players, blocked pairs (same words either side),
 * party ids without a party module, sending without joining, sizes, the per-connection join limit, full rooms
 * and the message budget (per-project overrides), each changing nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, type TestPlayer } from '../support/tenancy.js';
import { dmOf, history, json, messagesOf, ok, projectWithPlayers, refusedOp, setLimits, startSuite, take, type Frame, type Suite } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`chat ops (${kind.name})`, () => {
    let s: Suite;
    let players: TestPlayer[];

    before(async () => {
      s = await startSuite(kind);
      ({ players } = await projectWithPlayers(s, 6));
    });
    after(() => s.close());

    it('join answers the channel, its members, recent history and last_seq; send stores and delivers in seq order', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      const joined = await ok(ca, { op: 'channel.join', channel: 'room:lobby-1' });
      assert.equal(joined.channel, 'room:lobby-1');
      assert.deepEqual(joined.messages, []);
      assert.equal(joined.last_seq, 0);
      assert.deepEqual((joined.members as { player_id: string }[]).map((m) => m.player_id), [a.playerId]);
      const cb = await s.node.open(b);
      const joinedB = await ok(cb, { op: 'channel.join', channel: 'room:lobby-1' });
      assert.deepEqual((joinedB.members as { player_id: string }[]).map((m) => m.player_id).sort(), [a.playerId, b.playerId].sort());
      assert.ok((joinedB.members as { username: string }[]).every((m) => m.username.startsWith('chatter_')));
      // a hears b's join.
      await eventually(() => (ca.frames as Frame[]).some((f) => f.op === 'channel.presence'), 5_000, 'the join presence');
      const presence = take(ca, 'channel.presence').at(-1)!;
      assert.deepEqual(presence.joins, [{ player_id: b.playerId, username: (joinedB.members as { player_id: string; username: string }[]).find((m) => m.player_id === b.playerId)!.username }]);
      assert.deepEqual(presence.leaves, []);

      const sent1 = await ok(ca, { op: 'channel.send', channel: 'room:lobby-1', text: 'hello' });
      assert.equal(sent1.channel, 'room:lobby-1');
      assert.equal(sent1.seq, 1);
      assert.ok(!Number.isNaN(Date.parse(String(sent1.created_at))));
      const sent2 = await ok(cb, { op: 'channel.send', channel: 'room:lobby-1', data: { move: [1, 2] } });
      assert.equal(sent2.seq, 2);
      for (const client of [ca, cb]) {
        await eventually(() => messagesOf(client).length === 2, 5_000, 'both messages');
        const [m1, m2] = messagesOf(client);
        assert.equal(m1!.text, 'hello');
        assert.equal(m1!.sender_id, a.playerId);
        assert.equal(m1!.seq, 1);
        assert.equal(m1!.created_at, sent1.created_at);
        assert.deepEqual(m2!.data, { move: [1, 2] });
        assert.equal(m2!.text, undefined);
        assert.equal(typeof m2!.username, 'string');
      }
      // Events are numbered by the session's seq, and the sender's reply came before its own event.
      const seqs = (ca.frames as Frame[]).map((f) => f.seq!);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));

      // A third player joins: history oldest first, last_seq, limited by history.
      const cc = await s.node.open(players[2]!);
      const joinedC = await ok(cc, { op: 'channel.join', channel: 'room:lobby-1', history: 1 });
      assert.equal(joinedC.last_seq, 2);
      assert.deepEqual((joinedC.messages as { seq: number }[]).map((m) => m.seq), [2]);
      const none = await ok(await s.node.open(players[3]!), { op: 'channel.join', channel: 'room:lobby-1', history: 0 });
      assert.deepEqual(none.messages, []);
      assert.equal(none.last_seq, 2);
    });

    it('joining twice answers the same without a second join event; members count a player once', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const ca1 = await s.node.open(a);
      const ca2 = await s.node.open(a);
      const cb = await s.node.open(b);
      await ok(cb, { op: 'channel.join', channel: 'room:twice' });
      // The joining connection hears its own join too.
      await eventually(() => take(cb, 'channel.presence').length === 1, 5_000, 'its own join event');
      await ok(ca1, { op: 'channel.join', channel: 'room:twice' });
      await eventually(() => take(cb, 'channel.presence').length === 1, 5_000, 'one join event');
      const again = await ok(ca1, { op: 'channel.join', channel: 'room:twice' });
      const other = await ok(ca2, { op: 'channel.join', channel: 'room:twice' });
      assert.deepEqual((again.members as unknown[]).length, 2);
      assert.deepEqual((other.members as unknown[]).length, 2);
      // A message proves the later events were delivered; no second presence came meanwhile.
      await ok(cb, { op: 'channel.send', channel: 'room:twice', text: 'ping' });
      await eventually(() => messagesOf(ca1).length === 1 && messagesOf(ca2).length === 1, 5_000, 'the message on both connections');
      assert.equal(take(cb, 'channel.presence').length, 0, 'no second join');

      // The first connection leaving is no leave event; the last one is.
      await ok(ca1, { op: 'channel.leave', channel: 'room:twice' });
      await ok(cb, { op: 'channel.send', channel: 'room:twice', text: 'pong' });
      await eventually(() => messagesOf(ca2).length === 2, 5_000, 'the second message');
      assert.equal(take(cb, 'channel.presence').length, 0);
      assert.equal(messagesOf(ca1).length, 1, 'a left connection hears nothing more');
      await ok(ca2, { op: 'channel.leave', channel: 'room:twice' });
      await eventually(() => (cb.frames as Frame[]).some((f) => f.op === 'channel.presence'), 5_000, 'the leave');
      const leave = take(cb, 'channel.presence')[0]!;
      assert.deepEqual(leave, { op: 'channel.presence', seq: leave.seq, channel: 'room:twice', joins: [], leaves: [{ player_id: a.playerId }] });
      // Leaving again, or a channel never joined, is ok.
      await ok(ca2, { op: 'channel.leave', channel: 'room:twice' });
      await ok(ca2, { op: 'channel.leave', channel: 'room:never' });
    });

    it('a closed connection leaves its channels (presence leave), and sending after leaving is forbidden', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      const cb = await s.node.open(b);
      await ok(ca, { op: 'channel.join', channel: 'room:closing' });
      await ok(cb, { op: 'channel.join', channel: 'room:closing' });
      take(ca, 'channel.presence');
      await cb.close();
      await eventually(() => take(ca, 'channel.presence').some((f) => (f.leaves as unknown[]).length === 1), 5_000, 'the leave');
      await ok(ca, { op: 'channel.leave', channel: 'room:closing' });
      await refusedOp(ca, { op: 'channel.send', channel: 'room:closing', text: 'x' }, 'forbidden', 403);
    });

    it('dm channels: canonical form from either side, oneself, unknown players', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const canonical = dmOf(a, b);
      const ca = await s.node.open(a);
      const cb = await s.node.open(b);
      assert.equal((await ok(ca, { op: 'channel.join', channel: `dm:${b.playerId}` })).channel, canonical);
      assert.equal((await ok(cb, { op: 'channel.join', channel: canonical })).channel, canonical);
      const reversed = `dm:${canonical.split(':')[2]}:${canonical.split(':')[1]}`;
      assert.equal((await ok(cb, { op: 'channel.join', channel: reversed })).channel, canonical);
      const sent = await ok(ca, { op: 'channel.send', channel: `dm:${b.playerId}`, text: 'psst' });
      assert.equal(sent.channel, canonical);
      await eventually(() => messagesOf(cb, canonical).length === 1, 5_000, 'the dm');
      await refusedOp(ca, { op: 'channel.join', channel: `dm:${a.playerId}` }, 'validation', 400);
      await refusedOp(ca, { op: 'channel.join', channel: `dm:${a.playerId}:${a.playerId}` }, 'validation', 400);
      await refusedOp(ca, { op: 'channel.join', channel: 'dm:999999999999' }, 'not-found', 404);
      // Somebody else's dm is not visible.
      await refusedOp(ca, { op: 'channel.join', channel: dmOf(players[2]!, players[3]!) }, 'not-found', 404);
      // A player of another project is unknown.
      const { players: strangers } = await projectWithPlayers(s, 1);
      await refusedOp(ca, { op: 'channel.join', channel: `dm:${strangers[0]!.playerId}` }, 'not-found', 404);
    });

    it('a blocked pair cannot join or send in their dm, with the same words whichever side blocked', async () => {
      const [, , c, d] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer];
      const cc = await s.node.open(c);
      const cd = await s.node.open(d);
      await ok(cc, { op: 'channel.join', channel: `dm:${d.playerId}` });
      const block = await s.app.inject({ method: 'POST', url: `/v1/friends/${d.playerId}/block`, headers: bearer(c.accessToken) });
      assert.equal(block.statusCode, 200, block.body);
      const bySender = await refusedOp(cc, { op: 'channel.send', channel: `dm:${d.playerId}`, text: 'x' }, 'forbidden', 403);
      const byBlocked = await refusedOp(cd, { op: 'channel.join', channel: `dm:${c.playerId}` }, 'forbidden', 403);
      const byBlocker = await refusedOp(cc, { op: 'channel.join', channel: `dm:${d.playerId}` }, 'forbidden', 403);
      assert.equal(bySender.message, byBlocked.message);
      assert.equal(byBlocker.message, byBlocked.message);
      const unblock = await s.app.inject({ method: 'DELETE', url: `/v1/friends/${d.playerId}/block`, headers: bearer(c.accessToken) });
      assert.equal(unblock.statusCode, 204, unblock.body);
      await ok(cd, { op: 'channel.join', channel: `dm:${c.playerId}` });
      const stored = json<{ items: unknown[] }>(await history(s.app, c.accessToken, `dm:${d.playerId}`));
      assert.equal(stored.items.length, 0, 'nothing was stored while blocked');
    });

    it('refuses malformed, reserved and unknown channel ids', async () => {
      const client = await s.node.open(players[0]!);
      for (const channel of ['', 'lobby', 'room:', `room:${'x'.repeat(65)}`, 'room:a b', 'room:é', 'dm:abc', 'dm:0', 'party:', 'Room:x', 42, null]) {
        await refusedOp(client, { op: 'channel.join', channel }, 'validation', 400);
        await refusedOp(client, { op: 'channel.send', channel, text: 'x' }, 'validation', 400);
      }
      await refusedOp(client, { op: 'channel.join' }, 'validation', 400);
      const reserved = await refusedOp(client, { op: 'channel.join', channel: 'group:x' }, 'validation', 400);
      assert.match(String(reserved.message), /reserved/);
      await refusedOp(client, { op: 'channel.leave', channel: 'group:x' }, 'validation', 400);
      for (const history of [-1, 101, 1.5, '3']) await refusedOp(client, { op: 'channel.join', channel: 'room:h', history }, 'validation', 400);
      // A party that does not exist (or that the player is not in) is unknown.
      await refusedOp(client, { op: 'channel.join', channel: 'party:p1' }, 'not-found', 404);
    });

    it("party: channels are for the party's current members; leaving the party leaves its channel", async () => {
      const [a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer];
      const [ca, cb, cc] = [await s.node.open(a), await s.node.open(b), await s.node.open(c)];
      const party = (await ok(ca, { op: 'party.create', open: true })).party as { id: string };
      const channel = `party:${party.id}`;
      await ok(cb, { op: 'party.join', party_id: party.id });
      assert.equal((await ok(ca, { op: 'channel.join', channel })).channel, channel);
      await ok(cb, { op: 'channel.join', channel });
      await refusedOp(cc, { op: 'channel.join', channel }, 'not-found', 404);
      assert.equal((await history(s.app, c.accessToken, channel)).statusCode, 404);
      assert.equal((await history(s.app, a.accessToken, channel)).statusCode, 200);
      take(ca, 'channel.presence');
      await ok(cb, { op: 'party.leave', party_id: party.id });
      await eventually(() => take(ca, 'channel.presence').some((f) => (f.leaves as { player_id: string }[])[0]?.player_id === b.playerId), 5_000, "b's leave");
      await refusedOp(cb, { op: 'channel.send', channel, text: 'x' }, 'forbidden', 403);
      assert.equal((await history(s.app, b.accessToken, channel)).statusCode, 404);
      await ok(ca, { op: 'party.leave', party_id: party.id });
    });

    it('send refuses what it must, and stores nothing', async () => {
      const client = await s.node.open(players[4]!);
      await ok(client, { op: 'channel.join', channel: 'room:sizes' });
      await refusedOp(client, { op: 'channel.send', channel: 'room:other', text: 'x' }, 'forbidden', 403);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes' }, 'validation', 400);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes', text: 'x', data: 1 }, 'validation', 400);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes', text: '' }, 'validation', 400);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes', text: 7 }, 'validation', 400);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes', text: 'a\u0000b' }, 'validation', 400);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes', text: 'é'.repeat(2049) }, 'payload-too-large', 413);
      await refusedOp(client, { op: 'channel.send', channel: 'room:sizes', data: { pad: 'x'.repeat(4096) } }, 'payload-too-large', 413);
      const atLimit = await ok(client, { op: 'channel.send', channel: 'room:sizes', text: 'é'.repeat(2048) });
      assert.equal(atLimit.seq, 1);
      assert.equal((await ok(client, { op: 'channel.send', channel: 'room:sizes', data: null })).seq, 2);
      const page = json<{ items: { seq: number }[] }>(await history(s.app, players[4]!.accessToken, 'room:sizes'));
      assert.deepEqual(page.items.map((m) => m.seq), [2, 1]);
    });

    it('limits: CHANNEL_MAX_JOINED per connection, CHANNEL_MAX_MEMBERS per room, CHAT_MESSAGES_PER_MIN per player (per project)', async () => {
      const { project: limited, players: few } = await projectWithPlayers(s, 3);
      await setLimits(s.app, limited, { channel_max_joined: 2, channel_max_members: 2, chat_messages_per_min: 3 });
      const [a, b, c] = few as [TestPlayer, TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      await ok(ca, { op: 'channel.join', channel: 'room:l1' });
      await ok(ca, { op: 'channel.join', channel: 'room:l2' });
      const tooMany = await refusedOp(ca, { op: 'channel.join', channel: 'room:l3' }, 'limit-reached', 409);
      assert.equal(tooMany.limit, 2);
      await ok(ca, { op: 'channel.join', channel: 'room:l1' }); // joined already: answered the same
      await ok(await s.node.open(b), { op: 'channel.join', channel: 'room:l1' });
      const cc = await s.node.open(c);
      const full = await refusedOp(cc, { op: 'channel.join', channel: 'room:l1' }, 'limit-reached', 409);
      assert.equal(full.limit, 2);
      for (let i = 0; i < 3; i++) await ok(ca, { op: 'channel.send', channel: 'room:l1', text: `m${i}` });
      const limitedSend = await refusedOp(ca, { op: 'channel.send', channel: 'room:l2', text: 'over' }, 'rate-limited', 429);
      assert.ok(typeof limitedSend.retry_after_ms === 'number' && limitedSend.retry_after_ms > 0);
      const stored = json<{ items: unknown[] }>(await history(s.app, a.accessToken, 'room:l2'));
      assert.equal(stored.items.length, 0);
      await setLimits(s.app, limited, { channel_max_joined: null, channel_max_members: null, chat_messages_per_min: null });
    });
  });
}
