/**
 * A refused upgrade must not disturb the next one. Regression: with a tenant cap of 3 and a player cap of 2,
 * a player's third upgrade was refused 429 and then another player's first upgrade got a reset connection
 * instead of 101. The refusal said "Connection: keep-alive" while the server closed the socket under it, so
 * a client that pools connections (an http.Agent with keepAlive, a proxy) put that socket back in its pool
 * and sent the next upgrade down a dead socket: every time with a pooling client, and as a race otherwise.
 * Every plain HTTP answer to an upgrade request now says "Connection: close", and the socket is closed after
 * it (also for errors raised before routing, whose sockets were left open).
 * Runs on the memory backend, and on Redis when REDIS_URL is set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { connect as netConnect } from 'node:net';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { createPlayer, createProject, createTenant, type TestPlayer } from '../support/tenancy.js';
import { Client, attempt, realtimeUrl, slugOf, type Refusal } from './helpers.js';

const ROUNDS = 25;

interface PlainAnswer {
  head: string;
  /** Whether the server closed the socket within the deadline after its answer. */
  closed: boolean;
}

/** Sends an upgrade request on a fresh socket and reads the plain HTTP answer and whether the server then closes. */
function upgradeOnSocket(port: number, path: string, extra: string[] = [], deadlineMs = 2_000): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () =>
      socket.write(
        [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...extra, '', ''].join('\r\n'),
      ),
    );
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ head: data.split('\r\n\r\n')[0]!, closed: false });
    }, deadlineMs);
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ head: data.split('\r\n\r\n')[0]!, closed: true });
    });
    socket.on('error', reject);
  });
}

const caches: { name: string; create(): Promise<CacheBackend> }[] = [{ name: 'memory', create: () => createCache({ backend: 'memory' }) }];
if (process.env.REDIS_URL) {
  const redisUrl = process.env.REDIS_URL;
  caches.push({ name: 'redis', create: () => createCache({ backend: 'redis', redisUrl, keyPrefix: `ggscale-test-${randomBytes(6).toString('hex')}:` }) });
}

for (const kind of databaseKinds()) {
  for (const cacheKind of caches) {
    describe(`a refused WebSocket upgrade and the next one (${kind.name}, ${cacheKind.name})`, () => {
      let database: TestDatabase;
      let cache: CacheBackend;
      let t: TestApp;
      let base: string;
      const clients: Client[] = [];

      before(async () => {
        database = await kind.create();
        cache = await cacheKind.create();
        t = await buildTestApp({
          db: database.db,
          cache,
          env: { LOG_LEVEL: 'warn', WS_MAX_CONNECTIONS_PER_TENANT: '3', WS_MAX_CONNECTIONS_PER_PLAYER: '2' },
        });
        await t.app.listen({ port: 0, host: '127.0.0.1' });
        base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
      });
      after(async () => {
        for (const client of clients) client.ws.terminate();
        await t.close();
        await cache.close();
        await database.drop();
      });

      /** The outcome of one upgrade, a network error included (it is what the bug looked like). */
      const outcome = async (player: TestPlayer, agent?: Agent): Promise<Client | Refusal | Error> => {
        try {
          const result = await attempt(realtimeUrl(base, player.accessToken), agent ? { agent } : {});
          if (result instanceof Client) clients.push(result);
          return result;
        } catch (error) {
          return error as Error;
        }
      };
      const describeOutcome = (result: Client | Refusal | Error) =>
        result instanceof Client ? '101' : result instanceof Error ? `${result.name}: ${result.message}` : `${result.status} ${result.body}`;

      it(`upgrades another player right after a player-cap refusal, ${ROUNDS} times over, through a pooling client or not`, async () => {
        for (let round = 0; round < ROUNDS; round++) {
          // Every other round through one keep-alive socket pool, as a proxy or a pooling client sends them.
          const agent = round % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
          const project = await createProject(t.app, await createTenant(t.app));
          const [a, b] = [await createPlayer(t.app, project), await createPlayer(t.app, project)];
          for (const n of [1, 2]) {
            const opened = await outcome(a, agent);
            assert.ok(opened instanceof Client, `round ${round}: A's connection ${n}: ${describeOutcome(opened)}`);
          }
          const third = await outcome(a, agent);
          assert.ok(!(third instanceof Client) && !(third instanceof Error), `round ${round}: A's third: ${describeOutcome(third)}`);
          assert.equal(third.status, 429);
          assert.equal(slugOf(third), 'quota-exceeded');
          const other = await outcome(b, agent);
          assert.ok(other instanceof Client, `round ${round}: B's first upgrade after A's refusal: ${describeOutcome(other)}`);
          assert.equal(third.headers.connection, 'close', 'the refusal tells the client not to reuse the socket');
          assert.equal((await other.request({ op: 'ping', id: 'p' })).op, 'pong');
          // The tenant is now at 3: one more is a tenant-cap refusal.
          const fourth = await outcome(b, agent);
          assert.ok(!(fourth instanceof Client) && !(fourth instanceof Error), `round ${round}: B's second: ${describeOutcome(fourth)}`);
          assert.equal(fourth.status, 429);
          await Promise.all(clients.splice(0).map((client) => client.close()));
          agent?.destroy();
        }
      });

      it('answers every plain HTTP reply to an upgrade request with Connection: close, then closes the socket', async () => {
        const port = Number(new URL(base).port);
        const project = await createProject(t.app, await createTenant(t.app));
        const player = await createPlayer(t.app, project);
        const held = [await outcome(player), await outcome(player)];
        assert.ok(held.every((client) => client instanceof Client));
        const cases: [string, string, string[], number][] = [
          ['over the player cap', '/v1/realtime', [`Authorization: Bearer ${player.accessToken}`], 429],
          ['without a credential', '/v1/realtime', [], 401],
          ['a plain route', '/v1/healthz', [], 200],
          ['an unknown route', '/v1/nope', [], 404],
          ['a URL that cannot be decoded (refused before routing)', '/v1/storage/%FF/key', [], 400],
        ];
        for (const [what, path, extra, status] of cases) {
          const answer = await upgradeOnSocket(port, path, extra);
          assert.match(answer.head, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${answer.head}`);
          assert.match(answer.head, /\r\nConnection: close(\r\n|$)/i, `${what}: ${answer.head}`);
          assert.equal(answer.closed, true, `${what}: the server closes the socket after its answer`);
        }
        await Promise.all(clients.splice(0).map((client) => client.close()));
      });
    });
  }
}
