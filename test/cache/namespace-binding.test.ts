/**
 * A node listens before its database (which holds the deployment namespace) is open. Until the namespace
 * is bound, the Redis backends write nothing: every cache operation is refused as if Redis were down, a
 * subscription waits, and the rank index answers 503. Once bound, every key and channel carries it.
 * Needs REDIS_URL; the databases are PGlite always, and PostgreSQL when DATABASE_URL is set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { bindDeploymentNamespace, createCache, DeploymentNamespace, readDeploymentNamespace } from '../../src/internal/cache/index.js';
import { RedisCache } from '../../src/internal/cache/redis.js';
import { LazyDatabase } from '../../src/internal/db/lazy.js';
import { loadMigrations, migrateDown, migrateUp } from '../../src/internal/db/migrate.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { RedisRankIndex } from '../../src/modules/leaderboards/redis-rank-index.js';
import type { BoardPeriod } from '../../src/modules/leaderboards/rank-index.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';

const redisUrl = process.env.REDIS_URL;
const quiet = { warn(): void {}, info(): void {} };

describe('binding the Redis backends to the deployment namespace', { skip: redisUrl ? false : 'REDIS_URL not set' }, () => {
  const root = `ggscale-test-${randomBytes(6).toString('hex')}:`;
  const open: { close(): Promise<void> }[] = [];
  let admin: Redis;
  const keys = () => admin.keys(`${root}*`);
  const cache = async (namespace?: string): Promise<RedisCache> => {
    const created = new RedisCache({ url: redisUrl!, keyPrefix: root, namespace, logger: quiet });
    open.push(created);
    assert.ok(await created.waitReady(2_000), 'redis reachable');
    return created;
  };

  before(() => {
    admin = new Redis(redisUrl!);
  });
  after(async () => {
    for (const each of open) await each.close();
    const left = await keys();
    if (left.length > 0) await admin.del(...left);
    await admin.quit();
  });

  it('an unbound cache refuses everything with 503, writes nothing, and reports degraded', async () => {
    const unbound = await cache();
    assert.equal(unbound.health(), 'degraded');
    const refusals: [string, Promise<unknown>][] = [
      ['hit', unbound.hit('{1}:1:rl:player:1', 5, 60_000)],
      ['peek', unbound.peek('{1}:1:rl:player:1', 5, 60_000)],
      ['acquireLease', unbound.acquireLease('{1}:ws:tenant', 'm', 5, 10_000)],
      ['renewLeases', unbound.renewLeases('{1}:ws:tenant', ['m'], 10_000)],
      ['releaseLease', unbound.releaseLease('{1}:ws:tenant', 'm')],
      ['countLeases', unbound.countLeases('{1}:ws:tenant')],
      ['publish', unbound.publish('auth-invalidate', '{"type":"all"}')],
    ];
    for (const [what, refused] of refusals) await assert.rejects(refused, { status: 503 }, what);
    assert.deepEqual(await keys(), [], 'nothing written while unbound');
  });

  it('subscriptions made before binding are live once useNamespace resolves, and hear only their namespace', async () => {
    const namespace = randomBytes(8).toString('hex');
    const late = await cache();
    const heard: string[] = [];
    await late.subscribe('auth-invalidate', (message) => heard.push(message)); // resolves at once, unbound
    const sameDeployment = await cache(namespace);
    const otherDeployment = await cache(randomBytes(8).toString('hex'));
    await late.useNamespace(namespace);
    assert.equal(late.health(), 'ok');
    await otherDeployment.publish('auth-invalidate', 'other');
    await sameDeployment.publish('auth-invalidate', 'same');
    await eventually(async () => heard.length > 0, 2_000, 'the message of its own deployment');
    assert.deepEqual(heard, ['same'], 'messages are delivered in order, so the other one would have come first');

    await late.useNamespace(namespace); // the same again: nothing happens
    await assert.rejects(late.useNamespace(randomBytes(8).toString('hex')), /another deployment namespace/);
    await late.hit('{1}:1:rl:player:1', 5, 60_000);
    assert.deepEqual(await admin.keys(`${root}${namespace}:*`), [`${root}${namespace}:{1}:1:rl:player:1`]);
  });

  it('refuses a key root that would take the hash tag', () => {
    assert.throws(() => new RedisCache({ url: redisUrl!, keyPrefix: 'ggscale:{x}:' }), /brace/);
    assert.throws(() => new RedisCache({ url: redisUrl!, namespace: 'NOT-HEX' }), /namespace/);
  });

  for (const kind of databaseKinds()) {
    describe(`from the database (${kind.name})`, () => {
      let database: TestDatabase;
      before(async () => {
        database = await kind.create();
      });
      after(async () => {
        await database.drop();
      });

      it('a node whose migrations are still pending binds the cache once they are applied', async () => {
        const migrations = await loadMigrations(migrationsDir);
        const namespace = await readDeploymentNamespace(database.db);
        // Rolled back to before the namespace existed (as if this node started before `ggscale migrate`).
        await migrateDown(database.db, migrations, migrations.length - migrations.findIndex((m) => m.name === 'deployment'));
        const waiting = await cache();
        let stopped = false;
        await bindDeploymentNamespace(database.db, waiting, { retryMs: 50, stopped: () => stopped, logger: quiet });
        assert.equal(waiting.health(), 'degraded', 'not bound while the namespace is missing');
        await assert.rejects(waiting.hit('{1}:1:rl:player:1', 5, 60_000), { status: 503 });
        await migrateUp(database.db, migrations);
        const made = await readDeploymentNamespace(database.db);
        assert.notEqual(made, namespace, 'a re-created table is a new namespace');
        await eventually(async () => waiting.health() === 'ok', 5_000, 'bound once migrated');
        stopped = true;
        await waiting.hit('{1}:1:rl:player:1', 5, 60_000);
        assert.deepEqual(await admin.keys(`${root}${made}:*`), [`${root}${made}:{1}:1:rl:player:1`]);
      });

      it('the rank index answers 503 until the database is open, then keys by its namespace', async () => {
        const lazy = new LazyDatabase();
        const entry = { playerId: '1', score: 10n, subscore: 0n, seq: 1n };
        const index = new RedisRankIndex({
          url: redisUrl!,
          // What Postgres holds: the record whose index write is tried below.
          source: async (_board, after) => (after === null ? [entry] : []),
          keyPrefix: root,
          namespace: (() => {
            const namespace = new DeploymentNamespace(lazy);
            return () => namespace.get();
          })(),
        });
        open.push(index);
        assert.ok(await index.waitReady(2_000));
        const board: BoardPeriod = { tenantId: '1', projectId: '1', boardUid: '77', period: '0', descending: true };
        const before = await keys();
        await assert.rejects(index.upsert(board, entry), { status: 503 });
        await assert.rejects(index.rankOf(board, '1'), { status: 503 });
        assert.deepEqual(await keys(), before, 'nothing written before the namespace is known');

        lazy.attach(database.db);
        const namespace = await readDeploymentNamespace(database.db);
        assert.equal((await index.upsert(board, entry))?.rank, 1);
        const written = (await keys()).filter((key) => !before.includes(key));
        assert.ok(written.length > 0);
        for (const key of written) assert.ok(key.startsWith(`${root}${namespace}:{1}:1:lb:77`), key);
      });
    });
  }

  it('createCache binds at once when given the namespace', async () => {
    const namespace = randomBytes(8).toString('hex');
    const created = await createCache({ backend: 'redis', redisUrl: redisUrl!, keyPrefix: root, namespace, logger: quiet });
    open.push(created);
    assert.equal(created.health(), 'ok');
    await created.hit('marker', 5, 60_000);
    assert.equal(await admin.exists(`${root}${namespace}:marker`), 1);
  });
});
