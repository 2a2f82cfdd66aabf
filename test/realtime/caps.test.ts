/**
 * Connection caps through the endpoint (one node; test/realtime/multi-node.test.ts covers several): exact per
 * player and per tenant, refused with 429 quota-exceeded + Retry-After BEFORE the upgrade, a slot freed at
 * once by a close, per-project overrides, and no slot leaked by an upgrade that ws itself refuses.
 * Runs on the memory backend, and on Redis when REDIS_URL is set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { createPlayer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { Client, connect, realtimeUrl, refused, slugOf } from './helpers.js';

const caches: { name: string; create(): Promise<CacheBackend> }[] = [{ name: 'memory', create: () => createCache({ backend: 'memory' }) }];
if (process.env.REDIS_URL) {
  const redisUrl = process.env.REDIS_URL;
  caches.push({ name: 'redis', create: () => createCache({ backend: 'redis', redisUrl, keyPrefix: `ggscale-test-${randomBytes(6).toString('hex')}:` }) });
}

/** Sends an upgrade with a malformed Sec-WebSocket-Key: ws answers 400 after our hooks took the lease. */
function badHandshake(port: number, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => {
      socket.write(
        `GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      );
    });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

for (const kind of databaseKinds()) {
  for (const cacheKind of caches) {
    describe(`realtime connection caps (${kind.name}, ${cacheKind.name})`, () => {
      let database: TestDatabase;
      let cache: CacheBackend;
      let t: TestApp;
      let base: string;
      let port: number;
      let tenantId: string;
      let project: TestProject;
      const clients: Client[] = [];
      const open = async (token: string) => {
        const client = await connect(realtimeUrl(base, token));
        clients.push(client);
        return client;
      };

      before(async () => {
        database = await kind.create();
        cache = await cacheKind.create();
        t = await buildTestApp({ db: database.db, cache, env: { WS_MAX_CONNECTIONS_PER_TENANT: '8', WS_MAX_CONNECTIONS_PER_PLAYER: '3' } });
        await t.app.listen({ port: 0, host: '127.0.0.1' });
        port = (t.app.server.address() as { port: number }).port;
        base = `http://127.0.0.1:${port}`;
        tenantId = await createTenant(t.app);
        project = await createProject(t.app, tenantId);
      });
      after(async () => {
        for (const client of clients) client.ws.terminate();
        await t.close();
        await cache.close();
        await database.drop();
      });

      const closeAll = async () => {
        await Promise.all(clients.splice(0).map((client) => client.close()));
      };

      it('holds a player to exactly WS_MAX_CONNECTIONS_PER_PLAYER; over it is 429 before the upgrade; a close frees a slot at once', async () => {
        const player = await createPlayer(t.app, project);
        const sockets = [await open(player.accessToken), await open(player.accessToken), await open(player.accessToken)];
        const refusal = await refused(realtimeUrl(base, player.accessToken));
        assert.equal(refusal.status, 429);
        assert.equal(slugOf(refusal), 'quota-exceeded');
        assert.match(String(refusal.headers['retry-after']), /^[1-9]\d*$/);
        assert.match(String(refusal.headers['content-type']), /^application\/problem\+json/);
        await sockets[0]!.close();
        const again = await open(player.accessToken);
        assert.deepEqual(await again.request({ op: 'ping' }), { op: 'pong' });
        assert.equal((await refused(realtimeUrl(base, player.accessToken))).status, 429, 'still exactly 3');
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(metrics, /ggscale_ws_rejected_total\{reason="player-cap"\} 2/);
        await closeAll();
      });

      it('holds a tenant to exactly WS_MAX_CONNECTIONS_PER_TENANT across its projects and players', async () => {
        const second = await createProject(t.app, tenantId);
        const players = [];
        for (let i = 0; i < 4; i++) players.push(await createPlayer(t.app, i % 2 === 0 ? project : second));
        for (const player of players) for (let i = 0; i < 2; i++) await open(player.accessToken);
        const late = await createPlayer(t.app, second);
        const refusal = await refused(realtimeUrl(base, late.accessToken));
        assert.equal(refusal.status, 429);
        assert.equal(slugOf(refusal), 'quota-exceeded');
        assert.match(refusal.body, /tenant/);
        // Another tenant is not affected.
        const other = await createProject(t.app, await createTenant(t.app));
        await open((await createPlayer(t.app, other)).accessToken);
        await clients[0]!.close();
        await open(late.accessToken);
        assert.equal((await refused(realtimeUrl(base, late.accessToken))).status, 429);
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(metrics, /ggscale_ws_rejected_total\{reason="tenant-cap"\} 2/);
        await closeAll();
      });

      it('applies per-project overrides from the operator API', async () => {
        const tuned = await createProject(t.app, await createTenant(t.app));
        const patch = await operator(t.app, 'PATCH', `/v1/admin/projects/${tuned.projectId}`, {
          limits: { ws_max_connections_per_player: 1, ws_max_connections_per_tenant: 2 },
        });
        assert.equal(patch.statusCode, 200, patch.body);
        const [a, b, c] = [await createPlayer(t.app, tuned), await createPlayer(t.app, tuned), await createPlayer(t.app, tuned)];
        await open(a.accessToken);
        assert.equal((await refused(realtimeUrl(base, a.accessToken))).status, 429, 'per player: 1');
        await open(b.accessToken);
        assert.equal((await refused(realtimeUrl(base, c.accessToken))).status, 429, 'per tenant: 2');
        await closeAll();
      });

      it('keeps no slot for an upgrade that ws refuses after the caps were checked', async () => {
        const player = await createPlayer(t.app, project);
        for (let i = 0; i < 5; i++) assert.match(await badHandshake(port, player.accessToken), /^HTTP\/1\.1 400[^]*Sec-WebSocket-Key/);
        for (let i = 0; i < 3; i++) await open(player.accessToken);
        await closeAll();
      });
    });
  }
}
