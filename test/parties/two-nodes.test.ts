/**
 * Parties across nodes sharing PostgreSQL and Redis (skipped without REDIS_URL, run in CI): a party made on
 * one node joined from another with events on both, concurrent joins from both nodes never past max_size,
 * events in version order on every connection under changes from both nodes, and the disconnect grace
 * finished by another node after the node that saw the disconnect has stopped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { PARTY_ENV, assertVersionOrder, create, get, memberIds, nextEvent, ok, op, partyEvents, projectWithPlayers, startNode, type Frame, type Node } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL;

describe('parties across two nodes sharing PostgreSQL and Redis', { skip: REDIS_URL || process.env.CI ? false : 'REDIS_URL not set' }, () => {
  const kind = databaseKinds().find((k) => k.name === 'postgres');
  const root = `ggscale-test-parties-${randomBytes(4).toString('hex')}:`;
  let database: TestDatabase;
  let project: TestProject;
  let players: TestPlayer[];
  let next = 0;
  const fresh = (): TestPlayer => players[next++]!;
  const nodes: { node: Node; cache: CacheBackend; closed: boolean }[] = [];

  const start = async (): Promise<Node> => {
    const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL!, keyPrefix: `${root}cache:` });
    const node = await startNode(
      database.db,
      {
        ...PARTY_ENV,
        CACHE_BACKEND: 'redis',
        REDIS_URL: REDIS_URL!,
        PARTY_REDIS_KEY_PREFIX: `${root}parties:`,
        WS_RESUME_WINDOW_SECONDS: '0',
        PARTY_DISCONNECT_GRACE_SECONDS: '1',
        PARTY_SWEEP_INTERVAL_MS: '50',
      },
      cache,
    );
    nodes.push({ node, cache, closed: false });
    return node;
  };
  const stop = async (node: Node) => {
    const entry = nodes.find((n) => n.node === node)!;
    if (entry.closed) return;
    entry.closed = true;
    await node.close();
    await entry.cache.close();
  };
  const n = (i: number) => nodes[i]!.node;

  before(async () => {
    assert.ok(kind, 'two nodes need a shared PostgreSQL (DATABASE_URL)');
    database = await kind.create();
    await start();
    await start();
    ({ project, players } = await projectWithPlayers({ app: n(0).app, database }, 30));
  });
  after(async () => {
    for (const { node } of nodes) await stop(node);
    await database?.drop();
  });

  it('a party made on one node is joined from the other, with events on both', async () => {
    const [a, b] = [fresh(), fresh()];
    const ca = await n(0).open(a);
    const cb = await n(1).open(b);
    const party = await create(ca);
    await ok(ca, { op: 'party.invite', party_id: party.id, player_id: b.playerId });
    await nextEvent(cb, 'party.invite');
    await ok(cb, { op: 'party.join', party_id: party.id });
    const joined = await nextEvent(ca, 'party.presence');
    assert.deepEqual((joined.joins as { player_id: string }[]).map((j) => j.player_id), [b.playerId]);
    await ok(cb, { op: 'party.data', party_id: party.id, data: 'hi' });
    assert.equal((await nextEvent(ca, 'party.data')).data, 'hi');
    const read = await n(1).app.inject({ method: 'GET', url: `/v1/parties/${party.id}`, headers: bearer(project.secretKey) });
    assert.deepEqual(read.json<{ members: { player_id: string }[] }>().members.map((m) => m.player_id), [a.playerId, b.playerId]);
  });

  it('concurrent joins from both nodes never exceed max_size', async () => {
    const leader = await n(0).open(fresh());
    const party = await create(leader, { open: true, max_size: 4 });
    const joiners = await Promise.all(Array.from({ length: 8 }, (_, i) => n(i % 2).open(fresh())));
    const replies = await Promise.all(joiners.map((client) => op(client, { op: 'party.join', party_id: party.id })));
    assert.equal(replies.filter((r) => r.op === 'ok').length, 3);
    assert.equal((await get(leader, party.id)).members.length, 4);
  });

  it('events arrive in version order on every connection under changes from both nodes', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => n(i % 2).open(fresh())));
    const party = await create(clients[0]!, { open: true, max_size: 16 });
    await Promise.all(clients.slice(1).map((client) => ok(client, { op: 'party.join', party_id: party.id })));
    await Promise.all(
      clients.slice(1).map(async (client) => {
        for (let i = 0; i < 2; i++) {
          await ok(client, { op: 'party.leave', party_id: party.id });
          await ok(client, { op: 'party.join', party_id: party.id });
        }
      }),
    );
    const final = await get(clients[0]!, party.id);
    for (const client of clients) {
      await eventually(() => (client.frames as Frame[]).some((f) => f.op === 'party.presence' && f.version === final.version), 8_000, 'the last event');
      assertVersionOrder(partyEvents(client));
    }
  });

  it('the disconnect grace ends on another node after the node that saw the disconnect stopped', async () => {
    const third = await start();
    const [a, b] = [fresh(), fresh()];
    const ca = await n(0).open(a);
    const cb = await third.open(b);
    const party = await create(cb, { open: true });
    await ok(ca, { op: 'party.join', party_id: party.id });
    await cb.close();
    await eventually(async () => (await get(ca, party.id)).members.find((m) => m.player_id === b.playerId)?.connected === false, 5_000, 'b offline');
    await stop(third);
    const gone = await nextEvent(ca, 'party.presence', (f) => (f.leaves as unknown[]).length > 0, 10_000);
    assert.deepEqual(gone.leaves, [{ player_id: b.playerId, reason: 'disconnected' }]);
    const leader = await nextEvent(ca, 'party.leader');
    assert.deepEqual([leader.leader_id, leader.reason], [a.playerId, 'disconnected']);
    assert.deepEqual(memberIds(await get(ca, party.id)), [a.playerId]);
  });
});
