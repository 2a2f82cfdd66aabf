/**
 * Several nodes sharing one Redis and one database (in this process, each node with its own Redis
 * connections): revocations reach every node within 1 s, budgets are one budget, and when Redis stops the
 * documented fallback holds (ordinary routes per-node, sign-in 503, readiness green) and recovers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, openTestPostgres, type TestDatabase } from '../support/db.js';
import { freePort } from '../support/process.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { RedisCache } from '../../src/internal/cache/redis.js';
import type { Database } from '../../src/internal/db/database.js';

const redisUrl = process.env.REDIS_URL;
const LIMITS = { RATE_LIMIT_PER_MIN: '40', AUTH_RATE_LIMIT_PER_MIN: '1000' };

for (const kind of databaseKinds()) {
  describe(`two nodes sharing Redis (${kind.name})`, { skip: redisUrl ? false : 'REDIS_URL not set' }, () => {
    let database: TestDatabase;
    let secondDb: Database;
    const caches: RedisCache[] = [];
    let one: TestApp;
    let two: TestApp;
    let project: TestProject;

    before(async () => {
      database = await kind.create();
      // PGlite is one process's database: the second node shares the object; PostgreSQL gets its own pool.
      secondDb = database.url ? await openTestPostgres({ url: database.url, poolSize: 4, statementTimeoutMs: 10_000 }) : database.db;
      const keyPrefix = `ggscale-test-${randomBytes(4).toString('hex')}:`;
      for (let i = 0; i < 2; i++) {
        const cache = new RedisCache({ url: redisUrl!, keyPrefix });
        await cache.waitReady(2000);
        caches.push(cache);
      }
      one = await buildTestApp({ db: database.db, cache: caches[0], env: LIMITS });
      two = await buildTestApp({ db: secondDb, cache: caches[1], env: LIMITS });
      project = await createProject(one.app, await createTenant(one.app));
    });
    after(async () => {
      await one.close();
      await two.close();
      for (const cache of caches) await cache.close();
      if (secondDb !== database.db) await secondDb.close();
      await database.drop();
    });

    const me = (node: TestApp, token: string) => node.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });

    it('a revoked key is refused on the other node within 1 s', async () => {
      const own = await createProject(one.app, project.tenantId);
      const device = (node: TestApp) =>
        node.app.inject({ method: 'POST', url: '/v1/auth/device', headers: bearer(own.secretKey), payload: { device_id: 'shared-node-device-0123456789' } });
      assert.ok([200, 201].includes((await device(two)).statusCode)); // cached on node two
      assert.equal((await operator(one.app, 'DELETE', `/v1/admin/api-keys/${own.secretKeyId}`)).statusCode, 204);
      const took = await eventually(async () => (await device(two)).statusCode === 401, 1000, 'node two refuses the revoked key');
      assert.ok(took <= 1000);
    });

    it('a logged-out session and a banned player are refused on the other node within 1 s', async () => {
      const player = await createPlayer(one.app, project);
      assert.equal((await me(two, player.accessToken)).statusCode, 200);
      assert.equal((await one.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(player.accessToken) })).statusCode, 204);
      await eventually(async () => (await me(two, player.accessToken)).statusCode === 401, 1000, 'logout reaches node two');

      const banned = await createPlayer(one.app, project);
      assert.equal((await me(two, banned.accessToken)).statusCode, 200);
      assert.equal((await operator(one.app, 'POST', `/v1/admin/projects/${project.projectId}/players/${banned.playerId}/ban`)).statusCode, 204);
      await eventually(async () => (await me(two, banned.accessToken)).statusCode === 401, 1000, 'ban reaches node two');
    });

    it('flushes cached credentials when the invalidation subscription reconnects', async () => {
      let flushed = 0;
      caches[1]!.onResubscribe(() => flushed++);
      // Kill the nodes' subscriber connections (named <prefix>sub); they reconnect and must flush.
      const { Redis } = await import('ioredis');
      const client = new Redis(redisUrl!);
      const name = `${(caches[1] as unknown as { root: string }).root}sub`;
      const victims = String(await client.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${name} `));
      assert.ok(victims.length >= 2, 'each node has a named subscriber connection');
      for (const line of victims) await client.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      await eventually(async () => flushed > 0, 5000, 'resubscribe flush');
      client.disconnect();
    });

    it('one budget across nodes: a player gets exactly its budget whichever node it hits', async () => {
      const player = await createPlayer(one.app, project);
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => me(i % 2 ? one : two, player.accessToken)));
      // The budget refills one request per 1.5 s (40 a minute): on a loaded machine the burst may take long
      // enough for a request or two to fit again. Beyond that, every extra answer is a double-spent budget.
      const refilled = Math.floor((performance.now() - started) / 1_500);
      const ok = answers.filter((res) => res.statusCode === 200).length;
      assert.ok(ok >= 40 && ok <= 40 + refilled, `${ok} answered, with ${refilled} refilled`);
      assert.equal(answers.filter((res) => res.statusCode === 429).length, 100 - ok);
    });
  });
}

describe('Redis stops under load (a Redis this test starts on its own port)', () => {
  let redis: ChildProcess | undefined;
  let port: number;
  let database: TestDatabase;
  let cache: RedisCache;
  let t: TestApp;
  let project: TestProject;

  const startRedis = () => {
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  };
  const stopRedis = async () => {
    const child = redis;
    redis = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  before(async () => {
    port = await freePort();
    startRedis();
    database = await databaseKinds()[0]!.create();
    cache = new RedisCache({ url: `redis://127.0.0.1:${port}` });
    await eventually(async () => cache.waitReady(200), 10_000, 'own redis-server answers');
    t = await buildTestApp({ db: database.db, cache, env: LIMITS });
    project = await createProject(t.app, await createTenant(t.app));
  });
  after(async () => {
    await t.close();
    await cache.close();
    await stopRedis();
    await database.drop();
  });

  it('falls back per node on ordinary routes, fails closed on sign-in, stays ready, and recovers', async () => {
    const player = await createPlayer(t.app, project);
    const me = () => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(player.accessToken) });
    const signIn = () =>
      t.app.inject({ method: 'POST', url: '/v1/auth/device', headers: bearer(project.publishableKey), payload: { device_id: 'redis-down-device-0123456789' } });
    assert.equal((await me()).statusCode, 200);

    await stopRedis();
    await eventually(async () => cache.health() === 'degraded', 5000, 'cache reports degraded');
    const ordinary = await Promise.all(Array.from({ length: 20 }, () => me()));
    for (const res of ordinary) assert.equal(res.statusCode, 200, 'ordinary routes keep serving on the per-node budget');
    const refused = await signIn();
    assert.equal(refused.statusCode, 503);
    assert.ok(refused.headers['retry-after']);
    const ready = await t.app.inject({ method: 'GET', url: '/v1/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { database: 'ok', cache: 'degraded' });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /ggscale_cache_fallback_total [1-9]/);

    startRedis();
    await eventually(async () => [200, 201].includes((await signIn()).statusCode), 15_000, 'sign-in recovers when Redis returns');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/readyz' })).json<{ cache: string }>().cache, 'ok');
  });
});
