/**
 * Party ops on real sockets, one node on the memory cache, on every database: create, invite, join, leave,
 * kick, promote, data and get with every refusal; invites (notification, restart, expiry); leader handover;
 * party.data relay and its rate limit; blocks; isolation between projects; the REST read; the chat channel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { nextLeader } from '../../src/modules/parties/party.js';
import {
  PARTY_ENV,
  create,
  get,
  memberIds,
  nextEvent,
  ok,
  op,
  partyEvents,
  projectWithPlayers,
  refusedOp,
  setLimits,
  startSuite,
  take,
  type Suite,
} from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`party ops (${kind.name})`, () => {
    let s: Suite;
    let project: TestProject;
    let p: TestPlayer[];
    let next = 0;
    /** A fresh player of the project, each test its own. */
    const fresh = (): TestPlayer => p[next++]!;
    const open = (player: TestPlayer) => s.node.open(player);

    before(async () => {
      s = await startSuite(kind, PARTY_ENV);
      ({ project, players: p } = await projectWithPlayers(s, 40));
    });
    after(() => s?.close());

    it('creates a party with its defaults and its refusals', async () => {
      const a = await open(fresh());
      const party = await create(a, { label: 'squad' });
      assert.equal(party.leader_id, a.welcome!.player_id);
      assert.equal(party.max_size, 4);
      assert.equal(party.open, false);
      assert.equal(party.label, 'squad');
      assert.equal(party.version, 1);
      assert.deepEqual(party.invites, []);
      assert.deepEqual(
        party.members.map((m) => [m.player_id, m.connected]),
        [[a.welcome!.player_id, true]],
      );
      await refusedOp(a, { op: 'party.create' }, 'conflict', 409);
      const b = await open(fresh());
      for (const bad of [{ max_size: 1 }, { max_size: 17 }, { max_size: 3.5 }, { open: 'yes' }, { label: 'x'.repeat(65) }, { label: 5 }, { colour: 'red' }]) {
        await refusedOp(b, { op: 'party.create', ...bad }, 'validation', 400);
      }
      assert.equal((await create(b, { max_size: 16, open: true })).max_size, 16);
    });

    it('a retried party.create (same id) gets the first reply and creates one party', async () => {
      const a = await open(fresh());
      a.send({ op: 'party.create', id: 'same', max_size: 3 });
      a.send({ op: 'party.create', id: 'same', max_size: 3 });
      const first = await nextEvent(a, 'ok');
      const second = await nextEvent(a, 'ok');
      assert.deepEqual(first, second);
      a.send({ op: 'party.create', id: 'same' });
      assert.deepEqual(await nextEvent(a, 'ok'), first);
      await refusedOp(a, { op: 'party.create' }, 'conflict', 409);
    });

    it('invites (leader only when invite-only), notifies, joins with the invite, and refuses the rest', async () => {
      const [leader, member, invitee, stranger] = [fresh(), fresh(), fresh(), fresh()];
      const [cl, cm, ci, cs] = await Promise.all([leader, member, invitee, stranger].map(open));
      const party = await create(cl!, { max_size: 3 });
      const id = party.id;
      await refusedOp(cm!, { op: 'party.join', party_id: id }, 'not-found', 404);
      await refusedOp(cs!, { op: 'party.invite', party_id: id, player_id: invitee.playerId }, 'not-found', 404);
      await refusedOp(cl!, { op: 'party.invite', party_id: id, player_id: '999999999' }, 'not-found', 404);
      await refusedOp(cl!, { op: 'party.invite', party_id: id, player_id: leader.playerId }, 'conflict', 409);
      await refusedOp(cl!, { op: 'party.invite', party_id: id, player_id: 'x' }, 'validation', 400);
      await refusedOp(cl!, { op: 'party.invite', party_id: 'bad id!', player_id: member.playerId }, 'validation', 400);
      await ok(cl!, { op: 'party.invite', party_id: id, player_id: member.playerId });
      const invited = await nextEvent(cm!, 'party.invite');
      assert.equal(invited.party_id, id);
      assert.deepEqual((invited.from as { player_id: string }).player_id, leader.playerId);
      assert.ok(typeof invited.expires_at === 'string');
      const note = await nextEvent(cm!, 'notification');
      assert.equal((note.notification as { code: string }).code, 'ggscale.party_invite');
      assert.deepEqual((note.notification as { content: Record<string, unknown> }).content.party_id, id);
      // The invitee may read the party before joining; a stranger may not.
      assert.deepEqual((await get(cm!, id)).invites.map((i) => i.player_id), [member.playerId]);
      await refusedOp(cs!, { op: 'party.get', party_id: id }, 'not-found', 404);
      const joined = (await ok(cm!, { op: 'party.join', party_id: id })).party as { members: unknown[]; invites: unknown[]; version: number };
      assert.equal(joined.members.length, 2);
      assert.deepEqual(joined.invites, []);
      const presence = await nextEvent(cl!, 'party.presence');
      assert.equal(presence.version, joined.version);
      assert.deepEqual((presence.joins as { player_id: string; connected: boolean }[]).map((j) => [j.player_id, j.connected]), [[member.playerId, true]]);
      assert.deepEqual(presence.leaves, []);
      await nextEvent(cm!, 'party.presence');
      // Invite-only: a member who is not the leader may not invite.
      await refusedOp(cm!, { op: 'party.invite', party_id: id, player_id: invitee.playerId }, 'forbidden', 403);
      await ok(cl!, { op: 'party.invite', party_id: id, player_id: invitee.playerId });
      const full = await refusedOp(cl!, { op: 'party.invite', party_id: id, player_id: stranger.playerId }, 'limit-reached', 409);
      assert.equal(full.limit, 3);
      // Joining again is answered with the party, unchanged.
      assert.equal(((await ok(cm!, { op: 'party.join', party_id: id })).party as { version: number }).version, joined.version + 1);
      void ci;
    });

    it('open parties: any member invites, anyone joins until full, never from another party', async () => {
      const players = [fresh(), fresh(), fresh(), fresh()];
      const [c1, c2, c3, c4] = await Promise.all(players.map(open));
      const party = await create(c1!, { open: true, max_size: 2 });
      await ok(c2!, { op: 'party.join', party_id: party.id });
      const full = await refusedOp(c3!, { op: 'party.join', party_id: party.id }, 'limit-reached', 409);
      assert.equal(full.limit, 2);
      const other = await create(c4!, { open: true, max_size: 4 });
      await ok(c2!, { op: 'party.invite', party_id: party.id, player_id: players[2]!.playerId }).catch(() => undefined);
      await refusedOp(c4!, { op: 'party.join', party_id: party.id }, 'limit-reached', 409);
      await ok(c3!, { op: 'party.join', party_id: other.id });
      await ok(c2!, { op: 'party.leave', party_id: party.id });
      await refusedOp(c3!, { op: 'party.join', party_id: party.id }, 'conflict', 409);
      await refusedOp(c2!, { op: 'party.leave', party_id: party.id }, 'not-found', 404);
    });

    it('kick and promote are the leader\'s; leaving hands over and the last one closes the party', async () => {
      const players = [fresh(), fresh(), fresh()];
      const [c1, c2, c3] = await Promise.all(players.map(open));
      const [a, b, c] = players as [TestPlayer, TestPlayer, TestPlayer];
      const party = await create(c1!, { open: true });
      await ok(c2!, { op: 'party.join', party_id: party.id });
      await ok(c3!, { op: 'party.join', party_id: party.id });
      for (const client of [c1!, c2!, c3!]) partyEvents(client);
      await refusedOp(c2!, { op: 'party.kick', party_id: party.id, player_id: c.playerId }, 'forbidden', 403);
      await refusedOp(c2!, { op: 'party.promote', party_id: party.id, player_id: b.playerId }, 'forbidden', 403);
      await refusedOp(c1!, { op: 'party.kick', party_id: party.id, player_id: p[39]!.playerId }, 'not-found', 404);
      await refusedOp(c1!, { op: 'party.promote', party_id: party.id, player_id: p[39]!.playerId }, 'not-found', 404);
      await ok(c1!, { op: 'party.promote', party_id: party.id, player_id: c.playerId });
      const promoted = await nextEvent(c2!, 'party.leader');
      assert.deepEqual([promoted.leader_id, promoted.reason], [c.playerId, 'promoted']);
      for (const client of [c1!, c3!]) {
        const seen = await nextEvent(client, 'party.leader');
        assert.deepEqual([seen.leader_id, seen.version], [c.playerId, promoted.version]);
      }
      await ok(c3!, { op: 'party.kick', party_id: party.id, player_id: b.playerId });
      for (const client of [c1!, c2!, c3!]) {
        const kicked = await nextEvent(client, 'party.presence');
        assert.deepEqual(kicked.leaves, [{ player_id: b.playerId, reason: 'kicked' }]);
        assert.equal(kicked.version, promoted.version as number + 1);
      }
      await refusedOp(c2!, { op: 'party.get', party_id: party.id }, 'not-found', 404);
      // The leader leaves: the earliest-joined member (a) leads.
      await ok(c3!, { op: 'party.leave', party_id: party.id });
      const handed = await nextEvent(c1!, 'party.leader');
      assert.deepEqual([handed.leader_id, handed.reason], [a.playerId, 'left']);
      const leftEvent = await nextEvent(c3!, 'party.presence');
      assert.deepEqual(leftEvent.leaves, [{ player_id: c.playerId, reason: 'left' }]);
      await ok(c1!, { op: 'party.leave', party_id: party.id });
      await nextEvent(c1!, 'party.presence', (f) => (f.leaves as { player_id: string }[])[0]?.player_id === a.playerId);
      await refusedOp(c1!, { op: 'party.get', party_id: party.id }, 'not-found', 404);
      await refusedOp(c2!, { op: 'party.join', party_id: party.id }, 'not-found', 404);
      await create(c1!);
    });

    it('hands leadership to connected members first, then the earliest joined, then the smallest id', () => {
      const members = [
        { player_id: '9', joined_at: 1, offline_deadline: null },
        { player_id: '30', joined_at: 2, offline_deadline: null },
        { player_id: '4', joined_at: 2, offline_deadline: null },
      ];
      assert.equal(nextLeader(members, new Set(['9', '30', '4'])), '9');
      assert.equal(nextLeader(members, new Set(['30', '4'])), '30');
      assert.equal(nextLeader(members, new Set(['4'])), '4');
      assert.equal(nextLeader(members, new Set()), '9');
    });

    it('relays party.data to the other members only, within its size and rate limits', async () => {
      const players = [fresh(), fresh(), fresh()];
      const [c1, c2, c3] = await Promise.all(players.map(open));
      const party = await create(c1!, { open: true });
      await ok(c2!, { op: 'party.join', party_id: party.id });
      await ok(c1!, { op: 'party.data', party_id: party.id, data: { x: 1 }, op_code: 7 });
      const relayed = await nextEvent(c2!, 'party.data');
      assert.deepEqual([relayed.party_id, relayed.sender_id, relayed.op_code, relayed.data], [party.id, players[0]!.playerId, 7, { x: 1 }]);
      assert.equal(take(c1!, 'party.data').length, 0);
      await refusedOp(c3!, { op: 'party.data', party_id: party.id, data: 1 }, 'not-found', 404);
      const big = await refusedOp(c1!, { op: 'party.data', party_id: party.id, data: 'x'.repeat(4100) }, 'payload-too-large', 413);
      assert.equal(big.limit, 4096);
      await refusedOp(c1!, { op: 'party.data', party_id: party.id }, 'validation', 400);
      await refusedOp(c1!, { op: 'party.data', party_id: party.id, data: 1, op_code: 65536 }, 'validation', 400);
      await setLimits(s.app, project, { party_data_per_second: 3 });
      try {
        let refused: Record<string, unknown> | undefined;
        for (let i = 0; i < 10 && !refused; i++) {
          const reply = await op(c2!, { op: 'party.data', party_id: party.id, data: i });
          if (reply.op === 'error') refused = reply;
        }
        assert.ok(refused, 'a refusal past the limit');
        assert.deepEqual([refused.code, refused.status], ['rate-limited', 429]);
        assert.ok((refused.retry_after_ms as number) > 0);
      } finally {
        await setLimits(s.app, project, { party_data_per_second: null });
      }
    });

    it('invites expire, and inviting again restarts the clock', async () => {
      const [a, b] = [fresh(), fresh()];
      const [ca, cb] = await Promise.all([a, b].map(open));
      await setLimits(s.app, project, { party_invite_ttl_seconds: 1 });
      try {
        const party = await create(ca!);
        await ok(ca!, { op: 'party.invite', party_id: party.id, player_id: b.playerId });
        const first = (await get(ca!, party.id)).invites[0]!.expires_at;
        await ok(ca!, { op: 'party.invite', party_id: party.id, player_id: b.playerId });
        const second = (await get(ca!, party.id)).invites[0]!.expires_at;
        assert.ok(second >= first);
        await eventually(async () => (await get(ca!, party.id)).invites.length === 0, 5_000, 'the invite expires');
        await refusedOp(cb!, { op: 'party.join', party_id: party.id }, 'not-found', 404);
        await refusedOp(cb!, { op: 'party.get', party_id: party.id }, 'not-found', 404);
      } finally {
        await setLimits(s.app, project, { party_invite_ttl_seconds: null });
      }
    });

    it('a block ends pending invites both ways and forbids new ones', async () => {
      const [a, b] = [fresh(), fresh()];
      const [ca, cb] = await Promise.all([a, b].map(open));
      const party = await create(ca!);
      await ok(ca!, { op: 'party.invite', party_id: party.id, player_id: b.playerId });
      const blocked = await s.app.inject({ method: 'POST', url: `/v1/friends/${a.playerId}/block`, headers: bearer(b.accessToken) });
      assert.equal(blocked.statusCode, 200, blocked.body);
      await eventually(async () => (await get(ca!, party.id)).invites.length === 0, 5_000, 'the invite ends');
      await refusedOp(cb!, { op: 'party.join', party_id: party.id }, 'not-found', 404);
      await refusedOp(ca!, { op: 'party.invite', party_id: party.id, player_id: b.playerId }, 'not-found', 404);
      const theirs = await create(cb!, { open: true });
      await refusedOp(cb!, { op: 'party.invite', party_id: theirs.id, player_id: a.playerId }, 'not-found', 404);
    });

    it('REST: the secret key and members read the party; others get 404', async () => {
      const [a, b] = [fresh(), fresh()];
      const [ca] = await Promise.all([a].map(open));
      const party = await create(ca!, { label: 'rest' });
      const bySecret = await s.app.inject({ method: 'GET', url: `/v1/parties/${party.id}`, headers: bearer(project.secretKey) });
      assert.equal(bySecret.statusCode, 200, bySecret.body);
      assert.deepEqual(bySecret.json(), party);
      assert.equal((await s.app.inject({ method: 'GET', url: `/v1/parties/${party.id}`, headers: bearer(a.accessToken) })).statusCode, 200);
      assert.equal((await s.app.inject({ method: 'GET', url: `/v1/parties/${party.id}`, headers: bearer(b.accessToken) })).statusCode, 404);
      assert.equal((await s.app.inject({ method: 'GET', url: '/v1/parties/nope', headers: bearer(project.secretKey) })).statusCode, 404);
      assert.equal((await s.app.inject({ method: 'GET', url: '/v1/parties/bad%20id', headers: bearer(project.secretKey) })).statusCode, 400);
      assert.equal((await s.app.inject({ method: 'GET', url: `/v1/parties/${party.id}` })).statusCode, 401);
    });

    it("a party id from another project is not-found everywhere", async () => {
      const a = fresh();
      const ca = await open(a);
      const party = await create(ca, { open: true });
      const elsewhere = await projectWithPlayers(s, 1, project.tenantId);
      const intruder = elsewhere.players[0]!;
      const ci = await open(intruder);
      for (const frame of [
        { op: 'party.get', party_id: party.id },
        { op: 'party.join', party_id: party.id },
        { op: 'party.leave', party_id: party.id },
        { op: 'party.data', party_id: party.id, data: 1 },
        { op: 'party.invite', party_id: party.id, player_id: a.playerId },
        { op: 'party.kick', party_id: party.id, player_id: a.playerId },
        { op: 'party.promote', party_id: party.id, player_id: a.playerId },
      ]) {
        await refusedOp(ci, frame, 'not-found', 404);
      }
      await refusedOp(ca, { op: 'party.invite', party_id: party.id, player_id: intruder.playerId }, 'not-found', 404);
      const rest = await s.app.inject({ method: 'GET', url: `/v1/parties/${party.id}`, headers: bearer(elsewhere.project.secretKey) });
      assert.equal(rest.statusCode, 404);
      assert.deepEqual(memberIds(await get(ca, party.id)), [a.playerId]);
    });

    it('members use the party chat channel; a member who leaves leaves the channel', async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      const [ca, cb, cc] = await Promise.all([a, b, c].map(open));
      const party = await create(ca!, { open: true });
      await ok(cb!, { op: 'party.join', party_id: party.id });
      const channel = `party:${party.id}`;
      await ok(ca!, { op: 'channel.join', channel });
      await ok(cb!, { op: 'channel.join', channel });
      await refusedOp(cc!, { op: 'channel.join', channel }, 'not-found', 404);
      await ok(cb!, { op: 'party.leave', party_id: party.id });
      await nextEvent(ca!, 'channel.presence', (f) => (f.leaves as { player_id: string }[]).some((l) => l.player_id === b.playerId));
      await refusedOp(cb!, { op: 'channel.send', channel, text: 'still here?' }, 'forbidden', 403);
    });
  });
}
