/**
 * Sessions moving between two nodes that share PostgreSQL and Redis: a resume on the other node while the old
 * connection is still open (make-before-break) and after a network loss, under a steady stream of events, with
 * none lost and none duplicated; and draining (SIGTERM's first step): readiness says draining, new upgrades
 * are refused, every client is told to reconnect within the spread, a client that resumes elsewhere has its
 * old socket closed with 1012, and one that does not is closed with 1012 after its delay and the grace, its
 * session left in the cache for a resume on the other node.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { Client, connect, listen, loseNetwork, realtimeUrl, refused, resumeUrl, slugOf } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL;
const SPREAD_MS = 300;
const GRACE_MS = 400;
const ENV = { WS_MAX_CONNECTIONS_PER_PLAYER: '50', CHAT_MESSAGES_PER_MIN: '100000', WS_RECONNECT_SPREAD_MS: String(SPREAD_MS), WS_CLOSE_GRACE_MS: String(GRACE_MS) };

interface Node {
  t: TestApp;
  base: string;
  cache: CacheBackend;
  closed: boolean;
}

describe('realtime sessions across two nodes sharing Redis', { skip: REDIS_URL || process.env.CI ? false : 'REDIS_URL not set' }, () => {
  const kind = databaseKinds().find((k) => k.name === 'postgres');
  let database: TestDatabase;
  let project: TestProject;
  const nodes: Node[] = [];
  const clients: Client[] = [];

  const startNode = async (): Promise<Node> => {
    const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL! });
    const t = await buildTestApp({ db: database.db, cache, env: { ...ENV, CACHE_BACKEND: 'redis', REDIS_URL: REDIS_URL! } });
    const node = { t, base: await listen(t), cache, closed: false };
    nodes.push(node);
    return node;
  };
  const stopNode = async (node: Node): Promise<void> => {
    if (node.closed) return;
    node.closed = true;
    await node.t.close();
    await node.cache.close();
  };
  const open = async (url: string): Promise<Client> => {
    const client = await connect(url);
    clients.push(client);
    return client;
  };
  /** Publishes events 1..count to the player from `from`, one every few ms, while the test moves the session. */
  const stream = (from: Node, player: TestPlayer, count: number): Promise<void> =>
    (async () => {
      for (let n = 1; n <= count; n++) {
        await from.t.provisions.realtime.toPlayers({ tenantId: project.tenantId, projectId: project.projectId }, [player.playerId], { op: 'test.tick', n });
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
  /** What a client was sent, by event number, with the seq each came with. */
  const ticks = (client: Client): { seq: number; n: number }[] =>
    (client.frames as { op: string; seq: number; n: number }[]).filter((f) => f.op === 'test.tick').map(({ seq, n }) => ({ seq, n }));

  before(async () => {
    assert.ok(kind, 'two nodes need a shared PostgreSQL (DATABASE_URL)');
    database = await kind.create();
    const first = await startNode();
    project = await createProject(first.t.app, await createTenant(first.t.app));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).filter((c) => !c.isClosed).map((client) => client.close()));
  });
  after(async () => {
    for (const node of nodes) await stopNode(node);
    await database?.drop();
  });

  /** Every event 1..count exactly once across the two connections, numbered 1..count without a gap. */
  const assertExactlyOnce = (before: Client, afterwards: Client, count: number, keptUpTo = Infinity) => {
    const seen = [...ticks(before).filter((tick) => tick.seq <= keptUpTo), ...ticks(afterwards)];
    // On failure, say what each socket got (n@seq), so a lost or repeated event can be placed.
    const trace = () => `before: ${ticks(before).map((t) => `${t.n}@${t.seq}`).join(' ')}; after: ${ticks(afterwards).map((t) => `${t.n}@${t.seq}`).join(' ')}`;
    const byN = new Map<number, number>();
    for (const { seq, n } of seen) {
      assert.equal(byN.has(n), false, `event ${n} delivered twice (${trace()})`);
      byN.set(n, seq);
    }
    for (let n = 1; n <= count; n++) assert.ok(byN.has(n), `event ${n} lost (${trace()})`);
    assert.deepEqual(
      seen.map((s) => s.seq),
      Array.from({ length: count }, (_, i) => i + 1),
      'seq contiguous across the move',
    );
  };

  it('resumes on the other node while the old connection is open: 4002, nothing lost or repeated', async () => {
    const [a] = nodes as [Node];
    const b = await startNode();
    const player = await createPlayer(a.t.app, project);
    const first = await open(realtimeUrl(a.base, player.accessToken));
    const streaming = stream(a, player, 150);
    await eventually(() => ticks(first).length >= 30, 10_000, 'events flowing on the first node');
    const lastSeq = ticks(first).at(-1)!.seq;
    const second = await open(resumeUrl(b.base, player, first.welcome!.resume_token, lastSeq));
    assert.equal(second.welcome!.resumed, true, String(second.welcome!.reason));
    assert.equal((await first.closedWithin(5_000)).code, 4002);
    await streaming;
    await eventually(() => ticks(second).at(-1)?.n === 150, 10_000, 'every event on the second node');
    // Frames the first socket got after the client's last_seq are replayed to the second: count each once.
    assertExactlyOnce(first, second, 150, lastSeq);
    const resumed = second.frames.find((f) => (f as { op: string }).op === 'resumed') as Record<string, unknown>;
    assert.equal(typeof resumed.replayed, 'number');
    await stopNode(b);
  });

  it('resumes on the other node after a network loss, with events sent meanwhile replayed', async () => {
    const [a] = nodes as [Node];
    const b = await startNode();
    const player = await createPlayer(a.t.app, project);
    const first = await open(realtimeUrl(a.base, player.accessToken));
    const streaming = stream(a, player, 100);
    await eventually(() => ticks(first).length >= 20, 10_000, 'events flowing');
    await loseNetwork(first);
    const lastSeq = ticks(first).at(-1)!.seq;
    const second = await open(resumeUrl(b.base, player, first.welcome!.resume_token, lastSeq));
    assert.equal(second.welcome!.resumed, true, String(second.welcome!.reason));
    await streaming;
    await eventually(() => ticks(second).at(-1)?.n === 100, 10_000, 'every event on the second node');
    assertExactlyOnce(first, second, 100);
    await stopNode(b);
  });

  it('a session whose node crashed cannot be resumed elsewhere: unavailable, never a silent gap', async () => {
    const a = await startNode();
    const [b] = nodes as [Node];
    const player = await createPlayer(b.t.app, project);
    const first = await open(realtimeUrl(a.base, player.accessToken));
    await loseNetwork(first);
    // A crash: the node stops answering other nodes without handing anything over.
    await stopNodeWithoutHandover(a);
    const second = await open(resumeUrl(b.base, player, first.welcome!.resume_token, 0));
    assert.deepEqual([second.welcome!.resumed, second.welcome!.reason], [false, 'unavailable']);
  });

  it('draining: readyz 503 draining, upgrades refused, reconnect within the spread, 1012 once resumed elsewhere', async () => {
    const a = await startNode();
    const [b] = nodes as [Node];
    const player = await createPlayer(b.t.app, project);
    const stubborn = await createPlayer(b.t.app, project);
    const mover = await open(realtimeUrl(a.base, player.accessToken));
    const stays = await open(realtimeUrl(a.base, stubborn.accessToken));
    const streaming = stream(b, player, 120);
    const stubbornStream = stream(b, stubborn, 40);
    await eventually(() => ticks(mover).length >= 10, 10_000, 'events flowing');

    const draining = a.t.drain();
    const ready = await fetch(`${a.base}/v1/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { status: string }).status, 'draining');
    const refusal = await refused(realtimeUrl(a.base, player.accessToken));
    assert.equal(refusal.status, 503);
    assert.equal(slugOf(refusal), 'unavailable');
    assert.equal(refusal.headers['retry-after'], '1');

    for (const client of [mover, stays]) {
      await eventually(() => client.frames.some((f) => (f as { op: string }).op === 'reconnect'), 5_000, 'a reconnect frame');
      const frame = client.frames.find((f) => (f as { op: string }).op === 'reconnect') as { after_ms: number; seq?: number };
      assert.ok(frame.after_ms >= 0 && frame.after_ms <= SPREAD_MS, `after_ms ${frame.after_ms}`);
      assert.equal(frame.seq, undefined, 'a control frame carries no seq');
    }
    const lastSeq = ticks(mover).at(-1)!.seq;
    const moved = await open(resumeUrl(b.base, player, mover.welcome!.resume_token, lastSeq));
    assert.equal(moved.welcome!.resumed, true, String(moved.welcome!.reason));
    assert.equal((await mover.closedWithin(5_000)).code, 1012);

    // The client that ignored its reconnect is closed after its delay and the grace, its session in the cache.
    const cut = await stays.closedWithin(SPREAD_MS + GRACE_MS + 5_000);
    assert.equal(cut.code, 1012);
    await draining;
    await stubbornStream;
    const stubbornSeq = ticks(stays).at(-1)?.seq ?? 0;
    const back = await open(resumeUrl(b.base, stubborn, stays.welcome!.resume_token, stubbornSeq));
    assert.equal(back.welcome!.resumed, true, String(back.welcome!.reason));

    await streaming;
    await eventually(() => ticks(moved).at(-1)?.n === 120, 10_000, 'every event after the move');
    assertExactlyOnce(mover, moved, 120, lastSeq);
    await stopNode(a);
  });

  it('a rolling restart of one node under chat traffic: every listener gets every message once, in order', async () => {
    const a = await startNode();
    const [b] = nodes as [Node];
    const sender = await createPlayer(b.t.app, project);
    const listeners = await Promise.all([1, 2, 3].map(() => createPlayer(b.t.app, project)));
    const room = `room:rolling-${Math.random().toString(36).slice(2)}`;
    const ask = async (client: Client, frame: Record<string, unknown>) => {
      client.send(frame);
      await eventually(() => client.frames.some((f) => (f as { id?: string }).id === frame.id), 10_000, `the reply to ${String(frame.id)}`);
      const reply = client.frames.find((f) => (f as { id?: string }).id === frame.id) as Record<string, unknown>;
      assert.equal(reply.op, 'ok', JSON.stringify(reply));
      return reply;
    };
    const talker = await open(realtimeUrl(b.base, sender.accessToken));
    await ask(talker, { op: 'channel.join', id: 'join', channel: room });
    const before = await Promise.all(listeners.map((player) => open(realtimeUrl(a.base, player.accessToken))));
    for (const [i, client] of before.entries()) await ask(client, { op: 'channel.join', id: `join-${i}`, channel: room });

    const TOTAL = 120;
    const sending = (async () => {
      for (let n = 1; n <= TOTAL; n++) {
        await ask(talker, { op: 'channel.send', id: `m${n}`, channel: room, text: `m${n}` });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    type MessageFrame = { op: string; seq: number; message: { seq: number; text: string } };
    const messages = (client: Client) => (client.frames as MessageFrame[]).filter((f) => f.op === 'channel.message');
    await eventually(() => before.every((client) => messages(client).length >= 20), 10_000, 'messages flowing on the draining node');

    const draining = a.t.drain();
    // Each listener follows its reconnect frame: resumes on the other node after after_ms.
    const after = await Promise.all(
      before.map(async (client, i) => {
        await eventually(() => client.frames.some((f) => (f as { op: string }).op === 'reconnect'), 5_000, 'a reconnect frame');
        const { after_ms: afterMs } = client.frames.find((f) => (f as { op: string }).op === 'reconnect') as { after_ms: number };
        await new Promise((resolve) => setTimeout(resolve, afterMs));
        const lastSeq = Math.max(0, ...(client.frames as { seq?: number }[]).map((f) => f.seq ?? 0));
        const moved = await open(resumeUrl(b.base, listeners[i]!, client.welcome!.resume_token, lastSeq));
        assert.equal(moved.welcome!.resumed, true, String(moved.welcome!.reason));
        assert.equal((await client.closedWithin(5_000)).code, 1012);
        return { moved, lastSeq };
      }),
    );
    await sending;
    await draining;
    for (const [i, { moved, lastSeq }] of after.entries()) {
      await eventually(() => messages(moved).some((f) => f.message.seq === TOTAL), 10_000, `listener ${i} got the last message`);
      const seen = [...messages(before[i]!).filter((f) => f.seq <= lastSeq), ...messages(moved)].map((f) => f.message.seq);
      assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, k) => k + 1), `listener ${i}: every message once, in order`);
      const sessionSeqs = [...(before[i]!.frames as { seq?: number }[]).filter((f) => f.seq !== undefined && f.seq <= lastSeq), ...(moved.frames as { seq?: number }[]).filter((f) => f.seq !== undefined)].map((f) => f.seq!);
      assert.deepEqual(sessionSeqs, Array.from({ length: sessionSeqs.length }, (_, k) => k + 1), `listener ${i}: session seq contiguous`);
    }
    await stopNode(a);
  });

  /** Closes a node's app without its graceful hand-over (as if the process died). */
  async function stopNodeWithoutHandover(node: Node): Promise<void> {
    node.closed = true;
    // Its cache connection goes first: nothing can be handed over or answered any more.
    await node.cache.close();
    await node.t.close().catch(() => undefined);
  }
});
