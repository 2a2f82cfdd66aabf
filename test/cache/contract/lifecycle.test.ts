/**
 * The cache contract, lifecycle: kind and health, createCache, and Redis's connection life: key roots kept
 * apart, failing fast and degraded while unreachable (also at start), healthy again after a dropped
 * connection, an idempotent close().
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCache } from '../../../src/internal/cache/index.js';
import { eventually } from '../../support/eventually.js';
import { cacheContract, killClients, quietLogger, REDIS_URL, RedisRun, redisSkip } from './backends.js';

cacheContract('lifecycle', (nodes, backend) => {
  it('reports its kind and is healthy', () => {
    for (const n of nodes.list) {
      assert.equal(n.kind, backend);
      assert.equal(n.health(), 'ok');
    }
  });
});

describe('createCache', () => {
  it('builds a memory backend', async () => {
    const cache = await createCache({ backend: 'memory' });
    assert.equal(cache.kind, 'memory');
    assert.equal(cache.health(), 'ok');
    await cache.close();
  });
});

describe('redis: connections', { skip: redisSkip }, () => {
  const run = new RedisRun();
  const { prefix, namespace } = run;
  after(() => run.cleanup());

  it('isolates key prefixes', async () => {
    const [a, b] = await Promise.all([run.ready({ keyPrefix: `${prefix}a:` }), run.ready({ keyPrefix: `${prefix}b:` })]);
    await a.hit('shared', 1, 60_000);
    assert.equal((await a.hit('shared', 1, 60_000)).allowed, false);
    assert.equal((await b.hit('shared', 1, 60_000)).allowed, true);
    assert.ok((await run.admin.exists(`${prefix}a:${namespace}:shared`)) === 1, 'the root and the namespace are prepended to the key');
    await Promise.all([a.close(), b.close()]);
  });

  it('is degraded and fails fast when Redis is unreachable', async () => {
    const down = run.cache({ url: 'redis://127.0.0.1:1' });
    assert.equal(down.health(), 'degraded');
    const start = Date.now();
    await assert.rejects(down.hit('k', 5, 1_000));
    await assert.rejects(down.acquireLease('s', 'm', 1, 1_000));
    assert.ok(Date.now() - start < 2_000, `rejected after ${Date.now() - start} ms`);
    assert.equal(down.health(), 'degraded');
    await down.close();
  });

  it('createCache starts degraded, without throwing, when Redis is unreachable', async () => {
    const start = Date.now();
    const cache = await createCache({ backend: 'redis', redisUrl: 'redis://127.0.0.1:1', keyPrefix: prefix, logger: quietLogger });
    assert.ok(Date.now() - start < 1_500, `createCache took ${Date.now() - start} ms`);
    assert.equal(cache.kind, 'redis');
    assert.equal(cache.health(), 'degraded');
    await cache.close();
  });

  it('createCache waits for a reachable Redis and is healthy', async () => {
    const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL!, keyPrefix: prefix, namespace, logger: quietLogger });
    assert.equal(cache.health(), 'ok');
    await cache.close();
  });

  it('recovers health after the command connection drops', async () => {
    const cache = await run.ready({ keyPrefix: `${prefix}reconnect:` });
    assert.ok((await killClients(run.admin, `${prefix}reconnect:cmd`)) >= 1, 'killed the command connection');
    await eventually(async () => cache.health() === 'degraded', 5_000, 'degraded');
    await assert.rejects(cache.hit('k', 1, 60_000), 'fails fast while disconnected');
    await eventually(async () => cache.health() === 'ok', 5_000, 'healthy again');
    assert.equal((await cache.hit('k', 1, 60_000)).allowed, true);
    await cache.close();
  });

  it('close() is idempotent', async () => {
    const cache = run.cache();
    await cache.close();
    await cache.close();
  });
});
