/**
 * Chat across two nodes sharing PostgreSQL and Redis: members and presence from both, every message once and
 * in seq order on every connection of either node under concurrent sends from both, a session resumed on the
 * other node after its node shut down (handed over through the cache) sent what it missed from the store, no
 * dm notification for a recipient joined on the other node, and a block made through one node applied by the
 * node holding the blocker's connection.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, type TestPlayer } from '../support/tenancy.js';
import { connect, realtimeUrl } from '../realtime/helpers.js';
import { messagesOf, ok, projectWithPlayers, startNode, take, type Frame, type Node } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL;

describe('chat across two nodes sharing PostgreSQL and Redis', { skip: REDIS_URL || process.env.CI ? false : 'REDIS_URL not set' }, () => {
  const kind = databaseKinds().find((k) => k.name === 'postgres');
  let database: TestDatabase;
  let players: TestPlayer[];
  const nodes: { node: Node; cache: CacheBackend; closed: boolean }[] = [];

  const start = async (): Promise<Node> => {
    const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL! });
    const node = await startNode(database.db, { CACHE_BACKEND: 'redis', REDIS_URL: REDIS_URL! }, cache);
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

  before(async () => {
    assert.ok(kind, 'two nodes need a shared PostgreSQL (DATABASE_URL)');
    database = await kind.create();
    const first = await start();
    await start();
    ({ players } = await projectWithPlayers({ app: first.app, database }, 8));
  });
  afterEach(async () => {
    for (const { node, closed } of nodes) if (!closed) await Promise.all(node.clients.splice(0).filter((c) => !c.isClosed).map((c) => c.close()));
  });
  after(async () => {
    for (const { node } of nodes) await stop(node);
    await database?.drop();
  });

  it('members and presence span both nodes', async () => {
    const [n1, n2] = nodes.map((n) => n.node) as [Node, Node];
    const [a, b] = players as [TestPlayer, TestPlayer];
    const ca = await n1.open(a);
    const cb = await n2.open(b);
    await ok(ca, { op: 'channel.join', channel: 'room:span' });
    take(ca, 'channel.presence');
    const joined = await ok(cb, { op: 'channel.join', channel: 'room:span' });
    assert.deepEqual((joined.members as { player_id: string }[]).map((m) => m.player_id).sort(), [a.playerId, b.playerId].sort());
    await eventually(() => take(ca, 'channel.presence').some((f) => (f.joins as { player_id: string }[])[0]?.player_id === b.playerId), 5_000, "b's join on node 1");
    await cb.close();
    await eventually(() => take(ca, 'channel.presence').some((f) => (f.leaves as { player_id: string }[])[0]?.player_id === b.playerId), 5_000, "b's leave on node 1");
  });

  it('concurrent sends from both nodes reach every connection once, in seq order', async () => {
    const clients = await Promise.all(players.map((player, i) => nodes[i % 2]!.node.open(player)));
    for (const client of clients) await ok(client, { op: 'channel.join', channel: 'room:both' });
    const perClient = 12;
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < perClient; i++) await ok(client, { op: 'channel.send', channel: 'room:both', text: `${c}:${i}` });
      }),
    );
    const total = clients.length * perClient;
    for (const client of clients) {
      await eventually(() => messagesOf(client, 'room:both').length >= total, 15_000, 'every message on every connection');
      assert.deepEqual(
        messagesOf(client, 'room:both').map((m) => m.seq),
        Array.from({ length: total }, (_, i) => i + 1),
      );
    }
  });

  it("a session resumed on the other node after its node shut down is sent what it missed, once", async () => {
    const [n1, n2] = nodes.map((n) => n.node) as [Node, Node];
    const n3 = await start();
    const [a, b] = players as [TestPlayer, TestPlayer];
    const ca = await n3.open(a);
    const cb = await n2.open(b);
    await ok(ca, { op: 'channel.join', channel: 'room:move' });
    await ok(cb, { op: 'channel.join', channel: 'room:move' });
    await ok(cb, { op: 'channel.send', channel: 'room:move', text: 'before' });
    await eventually(() => messagesOf(ca).length === 1, 5_000, 'the first message');
    const lastSeq = Math.max(...(ca.frames as Frame[]).filter((f) => f.seq !== undefined).map((f) => f.seq!));
    ca.ws.terminate();
    await ca.closed;
    // The node stops: its sessions go to the cache; messages keep coming meanwhile.
    await stop(n3);
    for (const text of ['while-1', 'while-2']) await ok(cb, { op: 'channel.send', channel: 'room:move', text });
    const back = await connect(`${realtimeUrl(n1.base, a.accessToken)}&resume=${encodeURIComponent(String(ca.welcome!.resume_token))}&last_seq=${lastSeq}`);
    n1.clients.push(back);
    assert.equal(back.welcome!.resumed, true, String(back.welcome!.reason));
    await ok(cb, { op: 'channel.send', channel: 'room:move', text: 'after' });
    await eventually(() => messagesOf(back).length >= 3, 10_000, 'the missed messages and the next one');
    assert.deepEqual(messagesOf(back).map((m) => m.text), ['while-1', 'while-2', 'after']);
    const resumed = (back.frames as Frame[]).find((f) => f.op === 'resumed')!;
    assert.deepEqual(resumed.channels, ['room:move']);
    const seqs = (back.frames as Frame[]).filter((f) => f.seq !== undefined).map((f) => f.seq!);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
  });

  it('a resume on the other node while messages stream (make-before-break) loses and repeats none', async () => {
    const [n1, n2] = nodes.map((n) => n.node) as [Node, Node];
    const [a, b] = players.slice(2) as [TestPlayer, TestPlayer];
    const first = await n1.open(a);
    const cb = await n2.open(b);
    await ok(first, { op: 'channel.join', channel: 'room:stream' });
    await ok(cb, { op: 'channel.join', channel: 'room:stream' });
    const count = 60;
    const streaming = (async () => {
      for (let i = 1; i <= count; i++) await ok(cb, { op: 'channel.send', channel: 'room:stream', text: `s${i}` });
    })();
    await eventually(() => messagesOf(first).length >= 10, 10_000, 'messages flowing');
    const lastSeq = Math.max(...(first.frames as Frame[]).filter((f) => f.seq !== undefined).map((f) => f.seq!));
    const second = await connect(`${realtimeUrl(n2.base, a.accessToken)}&resume=${encodeURIComponent(String(first.welcome!.resume_token))}&last_seq=${lastSeq}`);
    n2.clients.push(second);
    assert.equal(second.welcome!.resumed, true, String(second.welcome!.reason));
    await streaming;
    await eventually(() => messagesOf(second).at(-1)?.text === `s${count}`, 10_000, 'the last message on the new connection');
    const kept = (first.frames as Frame[]).filter((f) => f.seq !== undefined && f.seq <= lastSeq && f.op === 'channel.message');
    const seen = [...kept.map((f) => (f.message as { seq: number }).seq), ...messagesOf(second).map((m) => m.seq)];
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i + 1), 'every message once, in order');
  });

  it('no dm notification for a recipient joined on the other node', async () => {
    const [n1, n2] = nodes.map((n) => n.node) as [Node, Node];
    const [, , c, d] = players as [TestPlayer, TestPlayer, TestPlayer, TestPlayer];
    const cc = await n1.open(c);
    const cd = await n2.open(d);
    await ok(cd, { op: 'channel.join', channel: `dm:${c.playerId}` });
    await ok(cc, { op: 'channel.join', channel: `dm:${d.playerId}` });
    await ok(cc, { op: 'channel.send', channel: `dm:${d.playerId}`, text: 'hi' });
    await eventually(() => messagesOf(cd).length === 1, 5_000, 'the dm on node 2');
    const list = await n1.app.inject({ method: 'GET', url: '/v1/notifications', headers: bearer(d.accessToken) });
    assert.equal(list.json<{ items: { code: string }[] }>().items.filter((n) => n.code === 'ggscale.dm').length, 0);
  });

  it("a block made through one node withholds the blocked sender's live messages on the blocker's node", async () => {
    const [n1, n2] = nodes.map((n) => n.node) as [Node, Node];
    const [, , , , e, f, g] = players;
    const ce = await n2.open(e!);
    const cf = await n1.open(f!);
    const cg = await n2.open(g!);
    for (const client of [ce, cf, cg]) await ok(client, { op: 'channel.join', channel: 'room:blockx' });
    const blocked = await n1.app.inject({ method: 'POST', url: `/v1/friends/${f!.playerId}/block`, headers: bearer(e!.accessToken) });
    assert.equal(blocked.statusCode, 200, blocked.body);
    let probe = 0;
    await eventually(
      async () => {
        const text = `probe-${++probe}`;
        await ok(cf, { op: 'channel.send', channel: 'room:blockx', text });
        await eventually(() => messagesOf(cg).some((m) => m.text === text), 5_000, 'the probe at g');
        return !messagesOf(ce).some((m) => m.text === text);
      },
      10_000,
      'the block to reach the node holding e',
    );
    await ok(cf, { op: 'channel.send', channel: 'room:blockx', text: 'final' });
    await eventually(() => messagesOf(cg).some((m) => m.text === 'final'), 5_000, 'final at g');
    assert.equal(messagesOf(ce).some((m) => m.text === 'final'), false);
  });
});
