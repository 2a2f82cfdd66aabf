/**
 * Two deployments pointed at one Redis (staging and production, say). Each has its own database, so their
 * tenant, project, player, key and board ids coincide; they must still share nothing: a player spent on one
 * leaves the other's same-id player unlimited, connection caps and rank indexes are each their own, and a
 * revocation published by one is never heard by the other. Deployment B runs two nodes, which DO share
 * everything: the control that shows Redis is really in use. Afterwards every key they left in Redis starts
 * with its deployment's namespace prefix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisCache } from '../../src/internal/cache/redis.js';
import { PostgresDatabase } from '../../src/internal/db/postgres.js';
import type { Database } from '../../src/internal/db/database.js';
import type { Invalidation } from '../../src/modules/auth/credential-resolver.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { freshDatabase, namespaceOf } from '../support/deployments.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { connect, realtimeUrl, refused, slugOf, type Client } from '../realtime/helpers.js';

const redisUrl = process.env.REDIS_URL;
const PLAYER_BUDGET = 5;

for (const kind of databaseKinds()) {
  describe(`two deployments sharing one Redis (${kind.name})`, { skip: redisUrl ? false : 'REDIS_URL not set' }, () => {
    // This run's own key root, so that the scan at the end sees only what these apps wrote.
    const root = `ggscale-test-${randomBytes(6).toString('hex')}:`;
    const env = {
      CACHE_BACKEND: 'redis',
      REDIS_URL: redisUrl ?? '',
      LEADERBOARD_REDIS_KEY_PREFIX: root,
      RATE_LIMIT_PER_MIN: String(PLAYER_BUDGET),
      AUTH_RATE_LIMIT_PER_MIN: '1000',
      WS_MAX_CONNECTIONS_PER_PLAYER: '1',
    };
    const databases: TestDatabase[] = [];
    const pools: Database[] = [];
    const caches: RedisCache[] = [];
    const sockets: Client[] = [];
    let a: TestApp;
    let b1: TestApp;
    let b2: TestApp;
    let projectA: TestProject;
    let projectB: TestProject;
    let admin: Redis;
    const heardOnB2: Invalidation[] = [];

    const node = async (db: Database): Promise<TestApp> => {
      const cache = new RedisCache({ url: redisUrl!, keyPrefix: root });
      caches.push(cache);
      assert.ok(await cache.waitReady(2_000), 'redis reachable');
      const app = await buildTestApp({ db, cache, env });
      await app.app.listen({ port: 0, host: '127.0.0.1' });
      return app;
    };
    const baseOf = (t: TestApp) => {
      const address = t.app.server.address();
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    };
    /** A player in each deployment, created in the same order, so the two have the same id. */
    const samePlayer = async (): Promise<[TestPlayer, TestPlayer]> => {
      const inA = await createPlayer(a.app, projectA);
      const inB = await createPlayer(b1.app, projectB);
      assert.equal(inA.playerId, inB.playerId, 'the two deployments give out the same player ids');
      return [inA, inB];
    };
    const me = (t: TestApp, player: TestPlayer) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(player.accessToken) });

    before(async () => {
      admin = new Redis(redisUrl!);
      // A: a copy of the run's migrated template; B: a database migrated from nothing (a deployment of its own).
      const first = await kind.create();
      const second = await freshDatabase(kind.name);
      databases.push(first, second);
      const secondPool = second.url ? await PostgresDatabase.open({ url: second.url, poolSize: 4, statementTimeoutMs: 10_000 }) : second.db;
      if (secondPool !== second.db) pools.push(secondPool);
      a = await node(first.db);
      b1 = await node(second.db);
      b2 = await node(secondPool);
      b2.provisions.auth.credentials.onInvalidate((event) => heardOnB2.push(event));
      projectA = await createProject(a.app, await createTenant(a.app));
      projectB = await createProject(b1.app, await createTenant(b1.app));
      assert.deepEqual([projectA.tenantId, projectA.projectId], [projectB.tenantId, projectB.projectId], 'the ids coincide');
    });
    after(async () => {
      for (const socket of sockets) await socket.close();
      for (const app of [a, b1, b2]) await app?.close();
      for (const cache of caches) await cache.close();
      for (const pool of pools) await pool.close();
      for (const database of databases) await database.drop();
      const keys = await scan(admin, `${root}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    });

    it('a player spent on one deployment leaves the same-id player of the other unlimited', async () => {
      const [inA, inB] = await samePlayer();
      for (let i = 0; i < PLAYER_BUDGET; i++) assert.equal((await me(a, inA)).statusCode, 200);
      assert.equal((await me(a, inA)).statusCode, 429, 'A\'s player has spent its budget');

      const fresh = await me(b1, inB);
      assert.equal(fresh.statusCode, 200, 'B\'s player of the same id is untouched');
      assert.match(String(fresh.headers.ratelimit), new RegExp(`^"player";r=${PLAYER_BUDGET - 1};`));

      // Control: B's two nodes do share one budget through Redis.
      for (let i = 1; i < PLAYER_BUDGET; i++) assert.equal((await me(i % 2 ? b2 : b1, inB)).statusCode, 200);
      assert.equal((await me(b2, inB)).statusCode, 429, 'B\'s nodes count one budget');
    });

    it('connection caps are counted per deployment', async () => {
      const [inA, inB] = await samePlayer();
      sockets.push(await connect(realtimeUrl(baseOf(a), inA.accessToken)));
      const second = await refused(realtimeUrl(baseOf(a), inA.accessToken));
      assert.deepEqual([second.status, slugOf(second)], [429, 'quota-exceeded'], 'A\'s player is at its cap');

      sockets.push(await connect(realtimeUrl(baseOf(b1), inB.accessToken)));
      // Control: B's other node sees B's player at its cap.
      assert.equal((await refused(realtimeUrl(baseOf(b2), inB.accessToken))).status, 429);
    });

    it('rank indexes are each deployment\'s own', async () => {
      const board = { id: 'race', sort: 'desc', operator: 'best' };
      for (const [t, project] of [[a, projectA], [b1, projectB]] as const) {
        const created = await t.app.inject({ method: 'POST', url: '/v1/leaderboards', headers: bearer(project.secretKey), payload: board });
        assert.equal(created.statusCode, 201, created.body);
      }
      const [firstOfA] = await samePlayer();
      const [, secondOfB] = await samePlayer();
      const submit = (t: TestApp, player: TestPlayer, score: number) =>
        t.app.inject({ method: 'POST', url: '/v1/leaderboards/race/scores', headers: bearer(player.accessToken), payload: { score } });
      assert.equal((await submit(a, firstOfA, 100)).json<{ rank: number }>().rank, 1);
      const onB = await submit(b1, secondOfB, 10);
      assert.equal(onB.statusCode, 200, onB.body);
      assert.equal(onB.json<{ rank: number }>().rank, 1, 'B\'s only record is first, whatever A\'s board of the same id holds');
      const page = await b2.app.inject({ method: 'GET', url: '/v1/leaderboards/race/scores', headers: bearer(projectB.secretKey) });
      assert.deepEqual(
        page.json<{ items: { player_id: string; rank: number }[] }>().items.map((item) => [item.player_id, item.rank]),
        [[secondOfB.playerId, 1]],
      );
    });

    it('a revocation published by one deployment is never heard by the other', async () => {
      const [inA, inB] = await samePlayer();
      const [, otherOfB] = await samePlayer();
      const ban = (t: TestApp, project: TestProject, player: TestPlayer) =>
        operator(t.app, 'POST', `/v1/admin/projects/${project.projectId}/players/${player.playerId}/ban`);
      assert.equal((await ban(a, projectA, inA)).statusCode, 204);
      // Control: a ban on B's first node reaches its second; Redis delivers messages in the order they were
      // published, so once it is heard, A's earlier one would have been heard already.
      assert.equal((await ban(b1, projectB, otherOfB)).statusCode, 204);
      await eventually(async () => heardOnB2.some((event) => event.type === 'player' && event.id === otherOfB.playerId), 2_000, 'B\'s ban heard on B\'s other node');
      assert.deepEqual(heardOnB2, [{ type: 'player', id: otherOfB.playerId, projectId: projectB.projectId }], 'nothing of A\'s reached B');
      assert.equal((await me(b2, inB)).statusCode, 200, 'B\'s player of the banned id is untouched');
    });

    it('every key they left in Redis starts with its deployment\'s namespace prefix', async () => {
      const prefixes = [`${root}${await namespaceOf(databases[0]!.db)}:`, `${root}${await namespaceOf(databases[1]!.db)}:`];
      assert.notEqual(prefixes[0], prefixes[1]);
      const keys = await scan(admin, `${root}*`);
      const outside = keys.filter((key) => !prefixes.some((prefix) => key.startsWith(prefix)));
      assert.deepEqual(outside, [], 'keys outside both namespaces');
      for (const prefix of prefixes) assert.ok(keys.some((key) => key.startsWith(prefix)), `${prefix} holds keys`);
      // A Redis Cluster hash tag, where a key has one, is the first {...} and follows the prefix at once.
      for (const key of keys.filter((k) => k.includes('{'))) {
        const rest = key.slice(prefixes.find((prefix) => key.startsWith(prefix))!.length);
        assert.match(rest, /^\{\d+\}:/, key);
      }
    });
  });
}

async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}
