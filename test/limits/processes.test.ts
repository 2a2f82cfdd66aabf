/**
 * Separate ggscale processes on loopback sharing the real PostgreSQL and Redis: one budget across nodes,
 * and a flood of one game's sign-ins from one IP does not stop its other IPs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPostgres, type TestDatabase } from '../support/db.js';
import { freePort, startGgscale, waitForStatus, type RunningProcess } from '../support/process.js';
import { OPERATOR_TOKEN } from '../support/tenancy.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

describe('three ggscale processes sharing PostgreSQL and Redis', { skip: databaseUrl && redisUrl ? false : 'DATABASE_URL and REDIS_URL not set' }, () => {
  let database: TestDatabase;
  const nodes: RunningProcess[] = [];
  let keys: { publishable: string; secret: string };

  const call = async (node: RunningProcess, method: string, path: string, credential: string, body?: unknown, forwardedFor?: string) => {
    const res = await fetch(node.url + path, {
      method,
      headers: {
        authorization: `Bearer ${credential}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.text()) || '{}' };
  };

  before(async () => {
    database = await createPostgres(databaseUrl!);
    const db = Math.floor(1 + Math.random() * 15);
    const redis = new URL(redisUrl!);
    redis.pathname = `/${db}`;
    for (let i = 0; i < 3; i++) {
      nodes.push(
        startGgscale(
          ['serve'],
          {
            DATABASE_URL: database.url!,
            CACHE_BACKEND: 'redis',
            REDIS_URL: redis.toString(),
            GGSCALE_ADMIN_TOKEN: OPERATOR_TOKEN,
            GGSCALE_MIGRATE_ON_START: 'false',
            // Every node of one deployment shares its public URL (the tokens' issuer).
            GGSCALE_PUBLIC_URL: 'http://ggscale.test',
            RATE_LIMIT_PER_MIN: '200',
            AUTH_RATE_LIMIT_PER_MIN: '20',
            TRUST_PROXY: '127.0.0.1',
            LOG_LEVEL: 'warn',
          },
          await freePort(),
        ),
      );
    }
    for (const node of nodes) await waitForStatus(`${node.url}/v1/readyz`, 200, 30_000);
    const tenant = JSON.parse((await call(nodes[0]!, 'POST', '/v1/admin/tenants', OPERATOR_TOKEN, { name: `multi-${Date.now()}` })).body) as { id: string };
    const project = JSON.parse((await call(nodes[1]!, 'POST', `/v1/admin/tenants/${tenant.id}/projects`, OPERATOR_TOKEN, { name: 'game' })).body) as { id: string };
    const key = async (kind: string) =>
      (JSON.parse((await call(nodes[2]!, 'POST', `/v1/admin/projects/${project.id}/api-keys`, OPERATOR_TOKEN, { kind, name: kind })).body) as { key: string }).key;
    keys = { publishable: await key('publishable'), secret: await key('secret') };
  });

  after(async () => {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((node) => node.exited));
    await database?.drop();
  });

  it('shares one per-player budget across the three nodes (within 5%)', async () => {
    const signIn = await call(nodes[0]!, 'POST', '/v1/auth/device', keys.publishable, { device_id: 'multi-node-player-0123456789' }, '192.0.2.10');
    const token = (JSON.parse(signIn.body) as { access_token: string }).access_token;
    let ok = 0;
    let limited = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 12 }, async (_, worker) => {
        for (let i = 0; i < 50; i++) {
          const res = await call(nodes[(worker + i) % 3]!, 'GET', '/v1/auth/me', token);
          if (res.status === 200) ok++;
          else if (res.status === 429) limited++;
          else assert.fail(`unexpected ${res.status} ${res.body}`);
        }
      }),
    );
    assert.equal(ok + limited, 600);
    // The budget is a moving window (GCRA): 200 at once, then 200 more per minute. What one shared budget
    // allows in the time the run took, within 5%; three separate per-node budgets would allow 600.
    const elapsedMs = Date.now() - started;
    const budget = 200 + Math.floor((elapsedMs / 60_000) * 200);
    assert.ok(ok >= 190 && ok <= budget * 1.05, `allowed ${ok}; one shared budget allows ${budget} in ${elapsedMs} ms`);
  });

  it("a flood of one game's sign-ins from one IP, across nodes, does not stop its other IPs", async () => {
    let floodOk = 0;
    for (let i = 0; i < 60; i++) {
      const res = await call(nodes[i % 3]!, 'POST', '/v1/auth/device', keys.publishable, { device_id: `flood-${i}-0123456789abcdef` }, '192.0.2.66');
      if (res.status === 200 || res.status === 201) floodOk++;
      else assert.equal(res.status, 429);
    }
    assert.ok(Math.abs(floodOk - 20) <= 1, `the flooding IP got ${floodOk} of 20`);
    for (let i = 0; i < 9; i++) {
      const res = await call(nodes[i % 3]!, 'POST', '/v1/auth/device', keys.publishable, { device_id: `other-${i}-0123456789abcdef` }, `192.0.2.${100 + i}`);
      assert.ok(res.status === 201 || res.status === 200, `other IP refused: ${res.status}`);
    }
  });
});
