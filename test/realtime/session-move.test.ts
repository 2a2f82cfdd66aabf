/**
 * A session moving between two nodes, with the timing under the test's control: two session registries in
 * one process over one in-memory fan-out (each with its own topic router and node link, as two nodes have).
 * Events published while the move is in flight reach both nodes; the session must number each exactly once,
 * and a session handed to the cache is resumed from it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../../src/internal/cache/memory.js';
import { MemoryFanout } from '../../src/internal/fanout/memory.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { NodeLink, type LinkMessage } from '../../src/modules/realtime/node-link.js';
import { OnlinePlayers } from '../../src/modules/realtime/online-players.js';
import { ResumeStore } from '../../src/modules/realtime/resume-store.js';
import type { SessionSink } from '../../src/modules/realtime/session.js';
import { SessionRegistry, type Begun } from '../../src/modules/realtime/sessions.js';
import { TopicRouter, playerTopic } from '../../src/modules/realtime/topics.js';
import { LogCapture } from '../support/app.js';
import { eventually } from '../support/eventually.js';

const identity = { tenantId: 't1', projectId: 'p1', playerId: 'player-1', sessionId: 'sid-1' };
const topic = playerTopic(identity.tenantId, identity.projectId, identity.playerId);

class Sink implements SessionSink {
  static count = 0;
  readonly id = `sink-${++Sink.count}`;
  open = true;
  closedWith: number | undefined;
  readonly frames: Record<string, unknown>[] = [];
  send(frame: string): void {
    this.frames.push(JSON.parse(frame) as Record<string, unknown>);
  }
  close(code: number): void {
    this.closedWith = code;
    this.open = false;
  }
  events(): { seq: number; n: number }[] {
    return this.frames.filter((f) => f.op === 'test.tick').map((f) => ({ seq: f.seq as number, n: f.n as number }));
  }
}

async function twoNodes(hook?: (request: LinkMessage, answer: () => Promise<LinkMessage>) => Promise<LinkMessage>) {
  const logger = createLogger({ level: 'warn', destination: new LogCapture() });
  const fanout = new MemoryFanout(logger);
  const cache = new MemoryCache();
  const heard: string[] = [];
  const onlineOn: OnlinePlayers[] = [];
  const make = async (withHook: boolean) => {
    const online = new OnlinePlayers(cache, 30_000, logger);
    online.onOnline((_scope, playerId) => void heard.push(`online ${playerId}`));
    online.onOffline((_scope, playerId) => void heard.push(`offline ${playerId}`));
    onlineOn.push(online);
    const topics = new TopicRouter(fanout, logger, () => undefined);
    const link = new NodeLink(fanout, logger);
    const registry: SessionRegistry = new SessionRegistry({
      context: { limits: { events: 1000, bytes: 1 << 20 }, filters: [], onEventSent: () => undefined, onSignal: () => undefined },
      windowMs: 30_000,
      topics,
      resumes: new ResumeStore(cache, 30_000),
      link,
      online,
      handoverTimeoutMs: 2_000,
      onEnd: async () => undefined,
      onResumeOutcome: () => undefined,
      logger,
    });
    await link.start((request) => (withHook && hook ? hook(request, () => registry.answer(request)) : registry.answer(request)));
    return { topics, registry };
  };
  const a = await make(true);
  const b = await make(false);
  let n = 0;
  const tick = async (count: number) => {
    for (let i = 0; i < count; i++) await a.topics.publish(topic, { op: 'test.tick', n: ++n });
    await new Promise((resolve) => setImmediate(resolve));
  };
  const close = async () => {
    for (const online of onlineOn) online.close();
    await Promise.all([fanout.close(), cache.close()]);
  };
  return { a, b, tick, heard, online: onlineOn[0]!, close };
}

function started(begun: Begun): Begun {
  begun.release();
  return begun;
}

describe('realtime: a session moving between nodes', () => {
  it('events published while the hand-over is in flight are numbered once, in order', async () => {
    let during: (() => Promise<void>) | undefined;
    const nodes = await twoNodes(async (request, answer) => {
      // Between the new node's subscription and the old node's hand-over: both hear these.
      if (request.type === 'commit') await during?.();
      return answer();
    });
    during = () => nodes.tick(3);
    const oldSink = new Sink();
    const first = started(await nodes.a.registry.begin(oldSink, identity, undefined));
    await nodes.tick(3);
    assert.deepEqual(oldSink.events().map((e) => e.n), [1, 2, 3]);

    const newSink = new Sink();
    const moved = await nodes.b.registry.begin(newSink, identity, { token: first.token!, lastSeq: 3 });
    assert.equal(moved.resumed, true);
    assert.equal(oldSink.closedWith, 4002);
    assert.ok(moved.resumed);
    for (const frame of moved.replay) newSink.send(frame);
    moved.release();
    during = undefined;
    await nodes.tick(2);
    await eventually(() => newSink.events().length >= 5, 2_000, 'the events after the move');
    assert.deepEqual(newSink.events(), [4, 5, 6, 7, 8].map((n) => ({ seq: n, n })));
    assert.equal(nodes.a.registry.size, 0, 'the old node let go of the session');
    await nodes.close();
  });

  it('a session left in the cache by its node is resumed on another, with what it had buffered', async () => {
    const nodes = await twoNodes();
    const sink = new Sink();
    const first = started(await nodes.a.registry.begin(sink, identity, undefined));
    await nodes.tick(4);
    const session = first.session;
    session.detach(sink);
    await nodes.a.registry.handOff(session);
    assert.equal(nodes.a.registry.size, 0);

    const next = new Sink();
    const resumed = await nodes.b.registry.begin(next, identity, { token: first.token!, lastSeq: 2 });
    assert.ok(resumed.resumed);
    assert.deepEqual(resumed.replay.map((frame) => (JSON.parse(frame) as { seq: number }).seq), [3, 4]);
    await nodes.close();
  });

  it('a node that does not answer makes the resume unavailable, and a new session starts', async () => {
    const nodes = await twoNodes(() => new Promise(() => undefined));
    const first = started(await nodes.a.registry.begin(new Sink(), identity, undefined));
    const outcome = await nodes.b.registry.begin(new Sink(), identity, { token: first.token!, lastSeq: 0 });
    assert.deepEqual([outcome.resumed, outcome.resumed ? null : outcome.reason], [false, 'unavailable']);
    assert.equal(outcome.session.lastSeq, 0);
    await nodes.close();
  });

  it('a player is online while any node holds a session; a move changes nothing, the last end takes it offline', async () => {
    const nodes = await twoNodes();
    const scope = { tenantId: identity.tenantId, projectId: identity.projectId };
    const first = started(await nodes.a.registry.begin(new Sink(), identity, undefined));
    const second = started(await nodes.a.registry.begin(new Sink(), identity, undefined));
    assert.deepEqual(nodes.heard, [`online ${identity.playerId}`], 'online once, at the first session');
    const moved = await nodes.b.registry.begin(new Sink(), identity, { token: first.token!, lastSeq: 0 });
    assert.equal(moved.resumed, true);
    await nodes.a.registry.end(second.session, true);
    assert.deepEqual([...(await nodes.online.which(scope, [identity.playerId, 'nobody']))], [identity.playerId]);
    assert.deepEqual(nodes.heard, [`online ${identity.playerId}`], 'neither the move nor the second end changed it');
    await nodes.b.registry.end(moved.session, true);
    assert.deepEqual(nodes.heard, [`online ${identity.playerId}`, `offline ${identity.playerId}`]);
    assert.equal((await nodes.online.which(scope, [identity.playerId])).size, 0);
    await nodes.close();
  });

  it('the node link keeps trying to listen while the fan-out cannot subscribe yet, then answers requests', async () => {
    const logger = createLogger({ level: 'warn', destination: new LogCapture() });
    const fanout = new MemoryFanout(logger);
    let refusals = 3;
    const starting = Object.assign(Object.create(fanout) as MemoryFanout, {
      subscribe: (topic: string, handler: (message: string) => void) =>
        refusals-- > 0 ? Promise.reject(new Error('The database is starting.')) : fanout.subscribe(topic, handler),
    });
    const server = new NodeLink(starting, logger);
    const client = new NodeLink(fanout, logger);
    await client.start(async () => ({}));
    await server.start(async (request) => ({ echoed: request.n }));
    assert.equal(refusals, -1, 'it tried until one subscribe succeeded');
    assert.deepEqual(await client.request(server.nodeId, { n: 7 }, 2_000), { echoed: 7 });
    await Promise.all([server.close(), client.close(), fanout.close()]);
  });
});
