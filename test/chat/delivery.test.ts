/**
 * Delivery on one node: seqs contiguous and unique under concurrent sends from many sockets, each connection
 * sent every message once in seq order; live room messages from a player the receiver blocked are not
 * delivered (history keeps them); the ggscale.dm notification when the recipient has no joined connection;
 * channel.send deduplicated by (session, id), also across a resume; a resume replays what was missed and
 * lists the channels; the api's removeMember and the messages meter seam.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/internal/errors/app-error.js';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { connect, realtimeUrl } from '../realtime/helpers.js';
import { history, json, messagesOf, ok, projectWithPlayers, refusedOp, startSuite, take, waitFor, type Frame, type Suite } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`chat delivery (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let players: TestPlayer[];

    before(async () => {
      s = await startSuite(kind);
      ({ project, players } = await projectWithPlayers(s, 8));
    });
    after(() => s.close());

    it('concurrent sends from many sockets get contiguous unique seqs, delivered once each, in order, to every connection', async () => {
      const clients = await Promise.all(players.map((player) => s.node.open(player)));
      for (const client of clients) await ok(client, { op: 'channel.join', channel: 'room:busy' });
      const perClient = 15;
      const replies = await Promise.all(
        clients.map(async (client, c) => {
          const seqs: number[] = [];
          for (let i = 0; i < perClient; i++) seqs.push((await ok(client, { op: 'channel.send', channel: 'room:busy', text: `${c}:${i}` })).seq as number);
          return seqs;
        }),
      );
      const total = clients.length * perClient;
      assert.deepEqual(replies.flat().sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1));
      for (const client of clients) {
        await eventually(() => messagesOf(client, 'room:busy').length >= total, 10_000, 'every message');
        assert.deepEqual(
          messagesOf(client, 'room:busy').map((m) => m.seq),
          Array.from({ length: total }, (_, i) => i + 1),
          'every seq once, in order',
        );
        const frameSeqs = (client.frames as Frame[]).map((f) => f.seq!);
        assert.deepEqual(frameSeqs, [...frameSeqs].sort((a, b) => a - b));
      }
      // Each sender's own messages kept its order.
      for (let c = 0; c < clients.length; c++) assert.deepEqual(replies[c], [...replies[c]!].sort((a, b) => a - b));
    });

    it("a room's live messages from a blocked player do not reach the blocker; history keeps them", async () => {
      const [a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer];
      const [ca, cb, cc] = [await s.node.open(a), await s.node.open(b), await s.node.open(c)];
      for (const client of [ca, cb, cc]) await ok(client, { op: 'channel.join', channel: 'room:blocks' });
      const blocked = await s.app.inject({ method: 'POST', url: `/v1/friends/${b.playerId}/block`, headers: bearer(a.accessToken) });
      assert.equal(blocked.statusCode, 200, blocked.body);
      await ok(cb, { op: 'channel.send', channel: 'room:blocks', text: 'from b' });
      await ok(cc, { op: 'channel.send', channel: 'room:blocks', text: 'from c' });
      await eventually(() => messagesOf(ca, 'room:blocks').length === 1 && messagesOf(cc, 'room:blocks').length === 2, 5_000, 'the messages');
      assert.equal(messagesOf(ca, 'room:blocks')[0]!.text, 'from c');
      // The blocked player still sees the blocker's messages (it did not block anyone).
      await ok(ca, { op: 'channel.send', channel: 'room:blocks', text: 'from a' });
      await eventually(() => messagesOf(cb, 'room:blocks').some((m) => m.text === 'from a'), 5_000, "a's message at b");
      const page = json<{ items: { text: string }[] }>(await history(s.app, a.accessToken, 'room:blocks'));
      assert.deepEqual(page.items.map((m) => m.text), ['from a', 'from c', 'from b']);
      const joined = await ok(await s.node.open(a), { op: 'channel.join', channel: 'room:blocks' });
      assert.equal((joined.messages as unknown[]).length, 3, 'join history keeps them too');
      // Unblocked: live again.
      const unblocked = await s.app.inject({ method: 'DELETE', url: `/v1/friends/${b.playerId}/block`, headers: bearer(a.accessToken) });
      assert.equal(unblocked.statusCode, 204);
      await ok(cb, { op: 'channel.send', channel: 'room:blocks', text: 'b again' });
      await eventually(() => messagesOf(ca, 'room:blocks').some((m) => m.text === 'b again'), 5_000, 'live again');
    });

    it('a dm stores ggscale.dm for a recipient with no joined connection, and not for one joined', async () => {
      const [a, b] = players.slice(3) as [TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      await ok(ca, { op: 'channel.join', channel: `dm:${b.playerId}` });
      const first = await ok(ca, { op: 'channel.send', channel: `dm:${b.playerId}`, text: 'are you there?' });
      const dms = async () =>
        json<{ items: { code: string; content: Record<string, unknown>; sender_id: string }[] }>(
          await s.app.inject({ method: 'GET', url: '/v1/notifications?limit=100', headers: bearer(b.accessToken) }),
        ).items.filter((n) => n.code === 'ggscale.dm');
      const stored = await dms();
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.sender_id, a.playerId);
      assert.equal(stored[0]!.content.channel, first.channel);
      assert.equal(stored[0]!.content.seq, first.seq);
      // b connected but not joined: still notified (live too).
      const cb = await s.node.open(b);
      await ok(ca, { op: 'channel.send', channel: `dm:${b.playerId}`, text: 'hello?' });
      await eventually(() => (cb.frames as Frame[]).some((f) => f.op === 'notification'), 5_000, 'the live notification');
      assert.equal((await dms()).length, 2);
      await ok(cb, { op: 'channel.join', channel: `dm:${a.playerId}` });
      await ok(ca, { op: 'channel.send', channel: `dm:${b.playerId}`, text: 'there you are' });
      await eventually(() => messagesOf(cb).some((m) => m.text === 'there you are'), 5_000, 'the dm');
      assert.equal((await dms()).length, 2, 'no notification while joined');
    });

    it('channel.send with the same id answers the first reply and stores nothing more, also after a resume', async () => {
      const player = players[5]!;
      const client = await s.node.open(player);
      await ok(client, { op: 'channel.join', channel: 'room:dedup' });
      client.send({ op: 'channel.send', id: 'same-1', channel: 'room:dedup', text: 'once' });
      client.send({ op: 'channel.send', id: 'same-1', channel: 'room:dedup', text: 'once' });
      await eventually(() => (client.frames as Frame[]).filter((f) => f.op === 'ok' && f.id === 'same-1').length === 2, 5_000, 'both replies');
      const [r1, r2] = (client.frames as Frame[]).filter((f) => f.op === 'ok' && f.id === 'same-1');
      assert.deepEqual(r1, r2);
      // After a network loss and a resume, the retry gets the same reply.
      const lastSeq = Math.max(0, ...(client.frames as Frame[]).filter((f) => f.seq !== undefined).map((f) => f.seq!));
      client.ws.terminate();
      await client.closed;
      const resumed = await connect(`${realtimeUrl(s.node.base, player.accessToken)}&resume=${encodeURIComponent(String(client.welcome!.resume_token))}&last_seq=${lastSeq}`);
      s.node.clients.push(resumed);
      assert.equal(resumed.welcome!.resumed, true, String(resumed.welcome!.reason));
      await eventually(() => (resumed.frames as Frame[]).some((f) => f.op === 'resumed'), 5_000, 'the resumed frame');
      const resumedFrame = (resumed.frames as Frame[]).find((f) => f.op === 'resumed')!;
      assert.deepEqual(resumedFrame.channels, ['room:dedup']);
      resumed.send({ op: 'channel.send', id: 'same-1', channel: 'room:dedup', text: 'once' });
      await eventually(() => (resumed.frames as Frame[]).some((f) => f.op === 'ok' && f.id === 'same-1'), 5_000, 'the retried reply');
      assert.deepEqual((resumed.frames as Frame[]).find((f) => f.op === 'ok' && f.id === 'same-1'), r1);
      const page = json<{ items: unknown[] }>(await history(s.app, player.accessToken, 'room:dedup'));
      assert.equal(page.items.length, 1);
    });

    it('a resume replays the messages sent while the connection was lost, once, then continues live', async () => {
      const [a, b] = players.slice(6) as [TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      const cb = await s.node.open(b);
      await ok(ca, { op: 'channel.join', channel: 'room:resume' });
      await ok(cb, { op: 'channel.join', channel: 'room:resume' });
      await ok(cb, { op: 'channel.send', channel: 'room:resume', text: 'm1' });
      await eventually(() => messagesOf(ca).length === 1, 5_000, 'm1');
      const lastSeq = Math.max(...(ca.frames as Frame[]).filter((f) => f.seq !== undefined).map((f) => f.seq!));
      ca.ws.terminate();
      await ca.closed;
      for (const text of ['m2', 'm3']) await ok(cb, { op: 'channel.send', channel: 'room:resume', text });
      const back = await connect(`${realtimeUrl(s.node.base, a.accessToken)}&resume=${encodeURIComponent(String(ca.welcome!.resume_token))}&last_seq=${lastSeq}`);
      s.node.clients.push(back);
      await ok(cb, { op: 'channel.send', channel: 'room:resume', text: 'm4' });
      await eventually(() => messagesOf(back).length === 3, 5_000, 'm2..m4');
      assert.deepEqual(messagesOf(back).map((m) => m.text), ['m2', 'm3', 'm4']);
      // No leave was announced: the session kept its membership while detached.
      assert.equal(take(cb, 'channel.presence').filter((f) => (f.leaves as unknown[]).length > 0).length, 0);
    });

    it('removeMember makes every connection of the player leave, with a presence leave', async () => {
      const [a, b] = players as [TestPlayer, TestPlayer];
      const ca = await s.node.open(a);
      const cb = await s.node.open(b);
      await ok(ca, { op: 'channel.join', channel: 'room:kick' });
      await ok(cb, { op: 'channel.join', channel: 'room:kick' });
      take(cb, 'channel.presence');
      await s.node.t.provisions.chat.removeMember({ tenantId: project.tenantId, projectId: project.projectId }, 'room:kick', a.playerId);
      await eventually(() => take(cb, 'channel.presence').some((f) => (f.leaves as { player_id: string }[])[0]?.player_id === a.playerId), 5_000, 'the leave');
      await refusedOp(ca, { op: 'channel.send', channel: 'room:kick', text: 'x' }, 'forbidden', 403);
    });

    it('the messages meter, once plugged in, refuses with plan-limit and nothing is stored', async () => {
      const client = await s.node.open(players[1]!);
      await ok(client, { op: 'channel.join', channel: 'room:metered' });
      s.node.t.provisions.chat.useMessageMeter({
        admit: async () => {
          throw new AppError('plan-limit', 'The plan allows no more messages this month.', { extensions: { meter: 'messages', limit: 0, used: 0, resets_at: null } });
        },
      });
      const refused = await refusedOp(client, { op: 'channel.send', channel: 'room:metered', text: 'x' }, 'plan-limit', 429);
      assert.equal(refused.meter, 'messages');
      s.node.t.provisions.chat.useMessageMeter({ admit: async () => undefined });
      assert.equal((await ok(client, { op: 'channel.send', channel: 'room:metered', text: 'y' })).seq, 1);
    });
  });
}

for (const kind of databaseKinds()) {
  describe(`chat send deduplication window (${kind.name})`, () => {
    it('a retry with the same id within WS_RESUME_WINDOW_SECONDS gets the first reply; later it is a new message', async () => {
      const s = await startSuite(kind, { WS_RESUME_WINDOW_SECONDS: '1' });
      try {
        const { players } = await projectWithPlayers(s, 1);
        const client = await s.node.open(players[0]!);
        await ok(client, { op: 'channel.join', channel: 'room:window' });
        // ok() numbers its own ids: these frames keep theirs.
        const sendAgain = async () => {
          client.send({ op: 'channel.send', id: 'again', channel: 'room:window', text: 'one' });
          const index = await waitFor(client, (f) => f.id === 'again');
          return client.frames.splice(index, 1)[0] as Record<string, unknown>;
        };
        const first = await sendAgain();
        assert.equal(first.op, 'ok');
        assert.deepEqual(await sendAgain(), first);
        let later: Record<string, unknown> | undefined;
        const waited = await eventually(
          async () => {
            const reply = await sendAgain();
            if (reply.seq !== first.seq) later = reply;
            return later;
          },
          10_000,
          'a new message once the window has passed',
          { everyMs: 100 },
        );
        assert.ok(waited >= 500, `not before the window (${waited} ms)`);
        assert.equal(later!.seq, (first.seq as number) + 1);
      } finally {
        await s.close();
      }
    });
  });
}
