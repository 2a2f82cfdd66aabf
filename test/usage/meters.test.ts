/**
 * Usage meters (docs/api/usage.md): known activity in, exact meters out, per project and per tenant (the sum
 * of its projects), on both databases. Requests behind a key or player token count (4xx too), 429 and 5xx
 * do not, operator calls do not; a player counts once per UTC month (signup, login, device, refresh);
 * storage_bytes is the last sample of the stored bytes; a node's counts are flushed when it shuts down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant } from '../support/tenancy.js';
import { HOUR, iso, readUsage, recentTotals } from './helpers.js';

const FAST_FLUSH = { USAGE_FLUSH_SECONDS: '1', SECRET_KEY_RATE_LIMIT_PER_MIN: '5' };

for (const kind of databaseKinds()) {
  describe(`usage meters (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;

    /** Waits until the meters read `expected` (a flush is at most a second away), then checks them once more. */
    const expectTotals = async (tenantId: string, projectId: string | undefined, expected: Record<string, number>) => {
      let seen: Record<string, number> = {};
      await eventually(
        async () => {
          seen = await recentTotals(app, tenantId, projectId);
          return isDeepStrictEqual(seen, expected);
        },
        10_000,
        () => `usage of ${tenantId}/${projectId ?? '-'}: ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}`,
      );
    };

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: FAST_FLUSH });
      app = t.app;
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    it('counts requests and monthly active players exactly, per project and for the tenant', async () => {
      const tenant = await createTenant(app);
      const first = await createProject(app, tenant);
      const second = await createProject(app, tenant);
      const other = await createProject(app, await createTenant(app));

      const device = `usage-device-${process.pid}-0123456789`;
      const alice = await createPlayer(app, first, device); // 1 request, alice counted
      await createPlayer(app, first); // 1 request, a second player counted
      const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: bearer(first.publishableKey), payload: { refresh_token: alice.refreshToken } });
      assert.equal(refreshed.statusCode, 200, refreshed.body); // 1 request, alice again: not counted twice
      for (let i = 0; i < 3; i++) {
        const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(alice.accessToken) });
        assert.equal(me.statusCode, 200, me.body); // 3 requests
      }
      await createPlayer(app, first, device); // 1 request, alice signs in on her device again: not counted twice
      await createPlayer(app, second); // the second project: 1 request, 1 player
      const bob = await createPlayer(app, other); // another tenant: 1 request, 1 player
      await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(bob.accessToken) }); // 1 request

      await expectTotals(tenant, first.projectId, { ccu_peak: 0, mau: 2, messages: 0, requests: 7, server_seconds: 0, storage_bytes: 0 });
      await expectTotals(tenant, second.projectId, { ccu_peak: 0, mau: 1, messages: 0, requests: 1, server_seconds: 0, storage_bytes: 0 });
      await expectTotals(tenant, undefined, { ccu_peak: 0, mau: 3, messages: 0, requests: 8, server_seconds: 0, storage_bytes: 0 });
      await expectTotals(other.tenantId, undefined, { ccu_peak: 0, mau: 1, messages: 0, requests: 2, server_seconds: 0, storage_bytes: 0 });
    });

    it('counts answers refused with 4xx, but not 429 nor 5xx nor operator calls', async () => {
      const project = await createProject(app, await createTenant(app));
      const statuses: number[] = [];
      const missing = await app.inject({ method: 'GET', url: '/v1/leaderboards/no-such-board', headers: bearer(project.secretKey) });
      statuses.push(missing.statusCode);
      for (let i = 0; i < 7; i++) {
        statuses.push((await app.inject({ method: 'GET', url: '/v1/leaderboards', headers: bearer(project.secretKey) })).statusCode);
      }
      assert.equal(statuses[0], 404);
      assert.ok(statuses.includes(429), `the secret key's budget of 5 a minute was never exceeded: ${statuses.join(',')}`);
      // Server failures never reach a client here; the app reports them through the same hook.
      const auth = { kind: 'secret' as const, tenantId: project.tenantId, projectId: project.projectId };
      t.provisions.usage.requestAnswered(auth, 500);
      t.provisions.usage.requestAnswered(auth, 503);
      t.provisions.usage.requestAnswered({ ...auth, kind: 'operator' }, 200);
      t.provisions.usage.requestAnswered(undefined, 200);
      const counted = statuses.filter((status) => status !== 429).length;
      await expectTotals(project.tenantId, project.projectId, { ccu_peak: 0, mau: 0, messages: 0, requests: counted, server_seconds: 0, storage_bytes: 0 });
    });

    it("samples a project's stored bytes as the hour's value, and a day is the mean of its hours", async () => {
      const project = await createProject(app, await createTenant(app));
      const player = await createPlayer(app, project);
      for (const [key, body] of [['a', '12345678901'], ['b', '12345']] as const) {
        const put = await app.inject({
          method: 'PUT',
          url: `/v1/storage/saves/${key}`,
          headers: { ...bearer(player.accessToken), 'content-type': 'application/octet-stream' },
          payload: body,
        });
        assert.equal(put.statusCode, 201, put.body);
      }
      await expectTotals(project.tenantId, project.projectId, { ccu_peak: 0, mau: 1, messages: 0, requests: 3, server_seconds: 0, storage_bytes: 16 });

      const day = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
      const hours = await readUsage(app, project.tenantId, { from: iso(day), to: iso(day + 24 * HOUR), granularity: 'hour', meter: 'storage_bytes' });
      const daily = await readUsage(app, project.tenantId, { from: iso(day), to: iso(day + 24 * HOUR), granularity: 'day', meter: 'storage_bytes' });
      const begun = Math.floor((Date.now() - day) / HOUR) + 1;
      const sum = hours.items.reduce((total, item) => total + item.value, 0);
      assert.equal(daily.items.length, 1);
      assert.equal(daily.items[0]!.value, Math.floor(sum / begun));
      assert.equal(daily.items[0]!.final, false);
    });

    it('writes the counts of a node that shuts down before its next flush', async () => {
      const project = await createProject(app, await createTenant(app));
      // A second node on the same database whose timer would not flush for a minute: only its shutdown does.
      const node = await buildTestApp({ db: database.db, env: { USAGE_FLUSH_SECONDS: '60' } });
      try {
        await createPlayer(node.app, project);
        await node.app.inject({ method: 'GET', url: '/v1/leaderboards', headers: bearer(project.secretKey) });
      } finally {
        await node.close();
      }
      assert.deepEqual(await recentTotals(app, project.tenantId, project.projectId), { ccu_peak: 0, mau: 1, messages: 0, requests: 2, server_seconds: 0, storage_bytes: 0 });
    });

    it('counts nothing with USAGE_METERING=false', async () => {
      const project = await createProject(app, await createTenant(app));
      const node = await buildTestApp({ db: database.db, env: { USAGE_METERING: 'false', USAGE_FLUSH_SECONDS: '1' } });
      try {
        await createPlayer(node.app, project);
      } finally {
        await node.close();
      }
      assert.deepEqual(await recentTotals(app, project.tenantId, project.projectId), { ccu_peak: 0, mau: 0, messages: 0, requests: 0, server_seconds: 0, storage_bytes: 0 });
    });
  });
}
