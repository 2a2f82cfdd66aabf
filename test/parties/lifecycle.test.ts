/**
 * Parties over time on one node (memory cache): the disconnect grace (connected:false, back within the grace,
 * removed with reason disconnected after it, the leader handed over to a connected member), concurrent joins
 * never past max_size, every member's events in version order under concurrent changes, and the resumed
 * frame's party_id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { connect, loseNetwork, resumeUrl } from '../realtime/helpers.js';
import {
  PARTY_ENV,
  assertVersionOrder,
  create,
  get,
  memberIds,
  nextEvent,
  ok,
  op,
  partyEvents,
  projectWithPlayers,
  startSuite,
  type Frame,
  type Suite,
} from './helpers.js';

const kind = databaseKinds()[0]!;

describe('party disconnects, races and order (one node)', () => {
  let s: Suite;
  let p: TestPlayer[];
  let project: TestProject;
  let next = 0;
  const fresh = (): TestPlayer => p[next++]!;

  before(async () => {
    s = await startSuite(kind, { ...PARTY_ENV, WS_RESUME_WINDOW_SECONDS: '0', PARTY_DISCONNECT_GRACE_SECONDS: '1', PARTY_SWEEP_INTERVAL_MS: '50' });
    ({ project, players: p } = await projectWithPlayers(s, 30));
  });
  after(() => s?.close());

  it('an offline member shows connected:false, stays if back within the grace, and leaves as disconnected after it', async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    const ca = await s.node.open(a);
    const cb = await s.node.open(b);
    const cc = await s.node.open(c);
    const party = await create(ca, { open: true });
    await ok(cb, { op: 'party.join', party_id: party.id });
    await ok(cc, { op: 'party.join', party_id: party.id });
    partyEvents(ca);
    // b comes back within the grace: it stays.
    await cb.close();
    await eventually(async () => (await get(ca, party.id)).members.find((m) => m.player_id === b.playerId)?.connected === false, 5_000, 'b shown offline');
    const back = await s.node.open(b);
    await eventually(async () => (await get(ca, party.id)).members.find((m) => m.player_id === b.playerId)?.connected === true, 5_000, 'b back');
    // The leader goes away for good: it leaves as disconnected, and the connected earliest joiner leads.
    await ca.close();
    const gone = await nextEvent(cc, 'party.presence', (f) => (f.leaves as unknown[]).length > 0, 8_000);
    assert.deepEqual(gone.leaves, [{ player_id: a.playerId, reason: 'disconnected' }]);
    const leader = await nextEvent(cc, 'party.leader');
    assert.deepEqual([leader.leader_id, leader.reason, leader.version], [b.playerId, 'disconnected', gone.version]);
    assert.deepEqual(memberIds(await get(back, party.id)), [b.playerId, c.playerId]);
  });

  it('the last member disconnecting closes the party', async () => {
    const a = fresh();
    const ca = await s.node.open(a);
    const party = await create(ca);
    await ca.close();
    const again = await s.node.open(a);
    // Back before the grace ended: still in it; then away for good.
    assert.deepEqual(memberIds(await get(again, party.id)), [a.playerId]);
    await again.close();
    const read = () => s.app.inject({ method: 'GET', url: `/v1/parties/${party.id}`, headers: bearer(project.secretKey) });
    assert.equal((await read()).statusCode, 200);
    await eventually(async () => (await read()).statusCode === 404, 8_000, 'the party closes');
    const later = await s.node.open(a);
    assert.equal((await op(later, { op: 'party.create' })).op, 'ok');
  });

  it('concurrent joins never exceed max_size', async () => {
    const leader = await s.node.open(fresh());
    const party = await create(leader, { open: true, max_size: 3 });
    const joiners = await Promise.all(Array.from({ length: 8 }, () => s.node.open(fresh())));
    const replies = await Promise.all(joiners.map((client) => op(client, { op: 'party.join', party_id: party.id })));
    assert.equal(replies.filter((r) => r.op === 'ok').length, 2);
    for (const refused of replies.filter((r) => r.op === 'error')) assert.deepEqual([refused.code, refused.limit], ['limit-reached', 3]);
    assert.equal((await get(leader, party.id)).members.length, 3);
  });

  it("every member's party events arrive in version order under concurrent changes", async () => {
    const players = Array.from({ length: 6 }, () => fresh());
    const clients = await Promise.all(players.map((player) => s.node.open(player)));
    const party = await create(clients[0]!, { open: true, max_size: 16 });
    await Promise.all(clients.slice(1).map((client) => ok(client, { op: 'party.join', party_id: party.id })));
    await Promise.all(
      clients.slice(1).map(async (client) => {
        await ok(client, { op: 'party.leave', party_id: party.id });
        await ok(client, { op: 'party.join', party_id: party.id });
      }),
    );
    const final = await get(clients[0]!, party.id);
    for (const client of clients) {
      await eventually(() => (client.frames as Frame[]).some((f) => f.op === 'party.presence' && f.version === final.version), 5_000, 'the last event');
      const events = partyEvents(client);
      assertVersionOrder(events);
    }
    const all = partyEvents(clients[0]!);
    assert.deepEqual(all, []);
  });
});

describe('the resumed frame names the party', () => {
  let s: Suite;
  let p: TestPlayer[];

  before(async () => {
    s = await startSuite(kind, PARTY_ENV);
    ({ players: p } = await projectWithPlayers(s, 2));
  });
  after(() => s?.close());

  it('party_id after a resume, null without a party', async () => {
    const [a, b] = p as [TestPlayer, TestPlayer];
    const ca = await s.node.open(a);
    const party = await create(ca);
    await loseNetwork(ca);
    const back = await connect(resumeUrl(s.node.base, a, ca.welcome!.resume_token, 0));
    s.node.clients.push(back);
    const resumed = await nextEvent(back, 'resumed');
    assert.equal(resumed.party_id, party.id);
    const cb = await s.node.open(b);
    await loseNetwork(cb);
    const bBack = await connect(resumeUrl(s.node.base, b, cb.welcome!.resume_token, 0));
    s.node.clients.push(bBack);
    assert.equal((await nextEvent(bBack, 'resumed')).party_id, null);
  });
});
