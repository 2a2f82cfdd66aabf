/**
 * The realtime framework other modules build on, over real sockets: the welcome frame, ops registered by
 * modules (ok replies, error frames with REST slugs and status, a reply before the events it causes), events
 * to every connection of a player numbered by `seq`, what session-start listeners send before live events,
 * and, with Redis, events published on one node reaching sockets on another.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { AppError, limitReached } from '../../src/internal/errors/app-error.js';
import { OpRateLimited, type RealtimeEvent } from '../../src/modules/realtime/api.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { Client, connect, realtimeUrl } from './helpers.js';

const ENV = { WS_MAX_CONNECTIONS_PER_PLAYER: '50' };

async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

const scopeOf = (project: TestProject) => ({ tenantId: project.tenantId, projectId: project.projectId });

for (const kind of databaseKinds()) {
  describe(`realtime events and ops (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let base: string;
    let project: TestProject;
    let other: TestProject;
    const clients: Client[] = [];
    const open = async (player: TestPlayer) => {
      const client = await connect(realtimeUrl(base, player.accessToken));
      clients.push(client);
      return client;
    };
    const onStart: { events: RealtimeEvent[] } = { events: [] };

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: ENV });
      const realtime = t.provisions.realtime;
      realtime.welcomeField('test_field', async (session) => `for ${session.playerId}`);
      realtime.onSessionStart(async (_session, send) => {
        for (const event of onStart.events) send(event);
      });
      realtime.registerOps({
        'test.echo': (request) => ({ echoed: request.text }),
        'test.async': async (request) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return { later: request.n };
        },
        'test.full': () => {
          throw limitReached('The room is full.', 1000);
        },
        'test.refused': () => {
          throw new AppError('not-found', 'No such thing.', { extensions: { player_ids: ['7'] } });
        },
        'test.limited': async (_request, session) => {
          const decision = await t.provisions.ratelimit.limiter.take({ name: 'test', key: `test-op:${session.playerId}`, limit: 1, windowMs: 60_000 });
          if (!decision.allowed) throw new OpRateLimited('Too many test ops.', decision.retryAfterMs);
          return { allowed: true };
        },
        // A real client error: ioredis refusing a command while it cannot reach its server.
        'test.cache-down': async () => {
          const unreachable = new Redis({ port: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
          try {
            await unreachable.get('anything');
          } finally {
            unreachable.disconnect();
          }
        },
        'test.bug': () => {
          throw new Error('a bug');
        },
        // Causes an event to its own player, then answers: the answer must arrive first.
        'test.notify-self': async (_request, session) => {
          await realtime.toPlayers(session, [session.playerId], { op: 'test.caused' });
          await new Promise((resolve) => setTimeout(resolve, 30));
          return { done: true };
        },
      });
      base = await listen(t);
      project = await createProject(t.app, await createTenant(t.app));
      other = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await Promise.all(clients.map((client) => client.close()));
      await t.close();
      await database.drop();
    });

    it('greets every new session with welcome: ids, limits, and the fields modules add', async () => {
      const player = await createPlayer(t.app, project);
      const [first, second] = [await open(player), await open(player)];
      const welcome = first.welcome!;
      assert.equal(welcome.op, 'welcome');
      assert.equal(welcome.player_id, player.playerId);
      assert.match(String(welcome.session_id), /.+/);
      assert.match(String(welcome.connection_id), /^[0-9a-f]{24}$/);
      assert.notEqual(welcome.connection_id, second.welcome!.connection_id);
      assert.equal(welcome.resumed, false);
      assert.equal(welcome.reason, null);
      assert.equal(typeof welcome.heartbeat_ms, 'number');
      assert.equal(typeof welcome.max_message_bytes, 'number');
      assert.equal(welcome.test_field, `for ${player.playerId}`);
      assert.ok(!('seq' in welcome), 'welcome is a control frame: no seq');
    });

    it('refuses to register an op twice, ping, or a malformed name', () => {
      const realtime = t.provisions.realtime;
      assert.throws(() => realtime.registerOps({ 'test.echo': () => undefined }), /twice/);
      assert.throws(() => realtime.registerOps({ ping: () => undefined }), /cannot be registered/);
      assert.throws(() => realtime.registerOps({ 'Bad Name': () => undefined }), /cannot be registered/);
      assert.throws(() => realtime.welcomeField('player_id', async () => 1), /taken/);
    });

    it('answers registered ops with ok and their fields, sync or async, and sends nothing for a request without id', async () => {
      const client = await open(await createPlayer(t.app, project));
      assert.deepEqual(await client.request({ op: 'test.echo', id: 'e1', text: 'hi' }), { op: 'ok', id: 'e1', echoed: 'hi' });
      assert.deepEqual(await client.request({ op: 'test.async', id: 'a1', n: 3 }), { op: 'ok', id: 'a1', later: 3 });
      client.send({ op: 'test.echo', text: 'no id' });
      assert.deepEqual(await client.request({ op: 'ping', id: 'after' }), { op: 'pong', id: 'after' }, 'nothing came for the request without id');
    });

    it('turns an op\'s AppError into an error frame with the REST slug, status and extensions; a bug is internal 500', async () => {
      const client = await open(await createPlayer(t.app, project));
      assert.deepEqual(await client.request({ op: 'test.full', id: 'f' }), {
        op: 'error',
        id: 'f',
        limit: 1000,
        code: 'limit-reached',
        status: 409,
        message: 'The room is full.',
      });
      const refused = await client.request({ op: 'test.refused', id: 'r' });
      assert.deepEqual([refused.code, refused.status, refused.player_ids], ['not-found', 404, ['7']]);
      const bug = await client.request({ op: 'test.bug', id: 'b' });
      assert.deepEqual([bug.code, bug.status, bug.message], ['internal', 500, 'The op failed on the server.']);
      assert.ok(!JSON.stringify(bug).includes('a bug'), 'no internal detail leaks');
      assert.ok(t.logs.records().some((line) => line.msg === 'realtime op failed'), 'the bug is logged');
      assert.deepEqual(await client.request({ op: 'ping', id: 'p' }), { op: 'pong', id: 'p' }, 'the connection stays open');
    });

    it("serves a connection's requests one at a time, in arrival order, and answers them in that order", async () => {
      const client = await open(await createPlayer(t.app, project));
      client.send({ op: 'test.async', id: 'slow', n: 1 });
      client.send({ op: 'test.echo', id: 'fast', text: 'second' });
      client.send({ op: 'ping', id: 'last' });
      assert.deepEqual(await client.next(), { op: 'ok', id: 'slow', later: 1 });
      assert.deepEqual(await client.next(), { op: 'ok', id: 'fast', echoed: 'second' });
      assert.deepEqual(await client.next(), { op: 'pong', id: 'last' });
    });

    it('an op whose shared cache cannot answer gets unavailable (503), not internal', async () => {
      const client = await open(await createPlayer(t.app, project));
      const answer = await client.request({ op: 'test.cache-down', id: 'c' });
      assert.deepEqual([answer.op, answer.code, answer.status], ['error', 'unavailable', 503]);
    });

    it('an op past its budget answers rate-limited with retry_after_ms', async () => {
      const client = await open(await createPlayer(t.app, project));
      assert.deepEqual(await client.request({ op: 'test.limited', id: 'one' }), { op: 'ok', id: 'one', allowed: true });
      const refused = await client.request({ op: 'test.limited', id: 'two' });
      assert.deepEqual([refused.op, refused.id, refused.code, refused.status], ['error', 'two', 'rate-limited', 429]);
      assert.ok(typeof refused.retry_after_ms === 'number' && refused.retry_after_ms > 0 && refused.retry_after_ms <= 60_000);
    });

    it('delivers toPlayers events to every connection of the player, each numbering its own seq from 1', async () => {
      const player = await createPlayer(t.app, project);
      const bystander = await createPlayer(t.app, project);
      const [a, b] = [await open(player), await open(player)];
      const c = await open(bystander);
      const realtime = t.provisions.realtime;
      await realtime.toPlayers(scopeOf(project), [player.playerId], { op: 'test.event', n: 1 });
      await realtime.toPlayers(scopeOf(project), [player.playerId, player.playerId], { op: 'test.event', n: 2 });
      for (const client of [a, b]) {
        assert.deepEqual(await client.next(), { op: 'test.event', seq: 1, n: 1 });
        assert.deepEqual(await client.next(), { op: 'test.event', seq: 2, n: 2 }, 'a repeated id is one delivery');
      }
      assert.deepEqual(await c.request({ op: 'ping', id: 'x' }), { op: 'pong', id: 'x' }, 'the bystander got nothing');
    });

    it('never delivers to the same player id in another project (the scope is part of the address)', async () => {
      const player = await createPlayer(t.app, project);
      const client = await open(player);
      await t.provisions.realtime.toPlayers(scopeOf(other), [player.playerId], { op: 'test.leak' });
      await t.provisions.realtime.toPlayers(scopeOf(project), [player.playerId], { op: 'test.mine' });
      assert.deepEqual(await client.next(), { op: 'test.mine', seq: 1 });
    });

    it('sends an op\'s reply before the events the op causes on the same connection', async () => {
      const client = await open(await createPlayer(t.app, project));
      client.send({ op: 'test.notify-self', id: 'n' });
      assert.deepEqual(await client.next(), { op: 'ok', id: 'n', done: true });
      assert.deepEqual(await client.next(), { op: 'test.caused', seq: 1 });
    });

    it('sends what session-start listeners send right after welcome, numbered first, before live events', async () => {
      onStart.events = [{ op: 'test.backlog', n: 1 }, { op: 'test.backlog', n: 2 }];
      try {
        const client = await open(await createPlayer(t.app, project));
        assert.deepEqual(await client.next(), { op: 'test.backlog', seq: 1, n: 1 });
        assert.deepEqual(await client.next(), { op: 'test.backlog', seq: 2, n: 2 });
      } finally {
        onStart.events = [];
      }
    });

    it('counts delivered events and exposes the fan-out latency histogram, without tenant labels', async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(text, /ggscale_ws_events_delivered_total [1-9]/);
      assert.match(text, /ggscale_ws_fanout_latency_seconds_count [1-9]/);
      assert.match(text, /ggscale_ws_fanout_topics \d+/);
      assert.ok(!/ggscale_ws_\w+\{[^}]*(tenant|project|player)\w*=/.test(text));
    });

    it('leaves the player topic when the player\'s last socket closes', async () => {
      const client = await open(await createPlayer(t.app, project));
      const metric = async () => Number(/ggscale_ws_fanout_topics (\d+)/.exec((await t.app.inject({ method: 'GET', url: '/metrics' })).body)![1]);
      const withIt = await metric();
      await client.close();
      await eventually(async () => (await metric()) === withIt - 1, 5_000, 'one topic fewer');
    });
  });
}

const REDIS_URL = process.env.REDIS_URL;
describe('realtime events across two nodes sharing Redis', { skip: REDIS_URL || process.env.CI ? false : 'REDIS_URL not set' }, () => {
  const kind = databaseKinds().find((k) => k.name === 'postgres');
  let database: TestDatabase;
  const nodes: { t: TestApp; base: string }[] = [];
  const clients: Client[] = [];
  const caches: CacheBackend[] = [];
  before(async () => {
    assert.ok(kind, 'two nodes need a shared PostgreSQL (DATABASE_URL)');
    database = await kind.create();
    for (let i = 0; i < 2; i++) {
      const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL! });
      caches.push(cache);
      const t = await buildTestApp({ db: database.db, cache, env: { ...ENV, CACHE_BACKEND: 'redis', REDIS_URL: REDIS_URL! } });
      nodes.push({ t, base: await listen(t) });
    }
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    for (const { t } of nodes) await t.close();
    for (const cache of caches) await cache.close();
    await database?.drop();
  });

  it('an event sent on one node reaches the player\'s sockets on both nodes, in order', async () => {
    const [a, b] = nodes as [{ t: TestApp; base: string }, { t: TestApp; base: string }];
    const project = await createProject(a.t.app, await createTenant(a.t.app));
    const player = await createPlayer(a.t.app, project);
    const onA = await connect(realtimeUrl(a.base, player.accessToken));
    const onB = await connect(realtimeUrl(b.base, player.accessToken));
    clients.push(onA, onB);
    for (let n = 1; n <= 20; n++) await a.t.provisions.realtime.toPlayers(scopeOf(project), [player.playerId], { op: 'test.cross', n });
    for (const client of [onA, onB]) {
      for (let n = 1; n <= 20; n++) assert.deepEqual(await client.next(5_000), { op: 'test.cross', seq: n, n });
    }
  });
});
