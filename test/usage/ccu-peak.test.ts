/**
 * ccu_peak (docs/api/usage.md): the open WebSockets sampled every USAGE_SAMPLE_SECONDS from the connection-cap
 * lease sets; an hour keeps its highest sample, a day the highest of its hours; a tenant's peak is measured
 * on its own lease set, not summed from its projects. Real sockets to a listening app; two nodes sharing one
 * cache backend (Redis when REDIS_URL is set) count each other's sockets.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createCache } from '../../src/internal/cache/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { connect, listen, realtimeUrl, type Client } from '../realtime/helpers.js';
import { HOUR, iso, readUsage, recentTotals } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`usage ccu_peak (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let base: string;
    const open: Client[] = [];

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { USAGE_FLUSH_SECONDS: '1', USAGE_SAMPLE_SECONDS: '1' } });
      app = t.app;
      base = await listen(t);
    });
    after(async () => {
      await Promise.all(open.map((client) => client.close()));
      await t?.close();
      await database?.drop();
    });

    const socket = async (project: TestProject): Promise<Client> => {
      const player = await createPlayer(app, project);
      const client = await connect(realtimeUrl(base, player.accessToken));
      open.push(client);
      return client;
    };
    const close = async (client: Client) => {
      open.splice(open.indexOf(client), 1);
      await client.close();
    };
    const peak = async (tenantId: string, projectId?: string) => (await recentTotals(app, tenantId, projectId)).ccu_peak ?? 0;
    const peaksReach = async (expected: [string, string | undefined, number][]) => {
      let seen: number[] = [];
      await eventually(
        async () => {
          seen = await Promise.all(expected.map(([tenantId, projectId]) => peak(tenantId, projectId)));
          return seen.every((value, i) => value === expected[i]![2]);
        },
        10_000,
        () => `ccu_peak ${JSON.stringify(seen)}, expected ${JSON.stringify(expected.map((e) => e[2]))}`,
      );
    };

    it("keeps the hour's highest sample per project and for the tenant's own sockets; closing does not lower it", async () => {
      const tenant = await createTenant(app);
      const first = await createProject(app, tenant);
      const second = await createProject(app, tenant);
      const a = await socket(first);
      const b = await socket(first);
      await socket(first);
      await socket(second);
      await peaksReach([
        [tenant, first.projectId, 3],
        [tenant, second.projectId, 1],
        [tenant, undefined, 4],
      ]);

      await close(a);
      await close(b);
      // A later tenant's socket seen in the report proves a sample and a flush happened after the closes.
      const later = await createProject(app, await createTenant(app));
      await socket(later);
      await peaksReach([[later.tenantId, later.projectId, 1]]);
      assert.equal(await peak(tenant, first.projectId), 3, 'closing sockets does not lower the hour');
      assert.equal(await peak(tenant), 4);

      // A day is the highest of its hours, not their sum.
      const day = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR;
      const hourly = await readUsage(app, tenant, { from: iso(day), to: iso(day + 24 * HOUR), granularity: 'hour', meter: 'ccu_peak' });
      const daily = await readUsage(app, tenant, { from: iso(day), to: iso(day + 24 * HOUR), granularity: 'day', meter: 'ccu_peak' });
      assert.equal(daily.items[0]!.value, Math.max(...hourly.items.map((item) => item.value)));
      assert.equal(daily.items[0]!.value, 4);
    });

    it('the tenant peak is the most sockets open at once, not the sum of its projects\' peaks', async () => {
      const tenant = await createTenant(app);
      const first = await createProject(app, tenant);
      const second = await createProject(app, tenant);
      const early = await socket(first);
      await peaksReach([[tenant, first.projectId, 1]]);
      await close(early);
      // The server frees the lease when its side of the socket closes, a moment after the client's.
      await eventually(async () => !(await t.provisions.realtime.openConnections()).some((o) => o.tenantId === tenant && o.count > 0), 10_000, 'the lease to be freed');
      await socket(second);
      await peaksReach([[tenant, second.projectId, 1]]);
      // Each project peaked at 1, never at the same time: the tenant's own peak is 1, not 2.
      assert.equal(await peak(tenant), 1);
    });

    it("counts the sockets of every node sharing the cache: two nodes' sockets make one peak", async () => {
      const redisUrl = process.env.REDIS_URL;
      const cache = redisUrl
        ? await createCache({ backend: 'redis', redisUrl, keyPrefix: `ggscale-test-${randomBytes(6).toString('hex')}:` })
        : await createCache({ backend: 'memory' });
      const env = { USAGE_FLUSH_SECONDS: '1', USAGE_SAMPLE_SECONDS: '1' };
      const nodes = [await buildTestApp({ db: database.db, env, cache }), await buildTestApp({ db: database.db, env, cache })];
      const clients: Client[] = [];
      try {
        const bases = await Promise.all(nodes.map((node) => listen(node)));
        const project = await createProject(app, await createTenant(app));
        for (const nodeBase of [bases[0]!, bases[0]!, bases[1]!]) {
          const player = await createPlayer(app, project);
          clients.push(await connect(realtimeUrl(nodeBase, player.accessToken)));
        }
        // Each node alone holds 2 and 1 sockets: only counts across nodes reach 3.
        await peaksReach([
          [project.tenantId, project.projectId, 3],
          [project.tenantId, undefined, 3],
        ]);
      } finally {
        await Promise.all(clients.map((client) => client.close()));
        await Promise.all(nodes.map((node) => node.close()));
        await cache.close();
      }
    });
  });
}
