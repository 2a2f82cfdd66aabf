/**
 * GET /v1/admin/tenants/{tenant_id}/usage (docs/api/usage.md): every bucket listed, zeros included, ordered by
 * start and then meter; day and month buckets (sums, but ccu_peak the highest; a tenant's ccu_peak its own); final hours; bad ranges are 400 problem JSON; an unknown
 * tenant, or a project of another tenant, is 404; only the operator may read.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { readUsage, usageUrl } from './helpers.js';

for (const kind of databaseKinds()) {
  describe(`usage report (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let tenant: string;
    let project: TestProject;
    let sibling: TestProject;
    let stranger: TestProject;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { USAGE_FLUSH_SECONDS: '1' } });
      app = t.app;
      tenant = await createTenant(app);
      project = await createProject(app, tenant);
      sibling = await createProject(app, tenant);
      stranger = await createProject(app, await createTenant(app));
      // Known rows in the past (final hours), for one project of each tenant.
      await database.db.operator('test: usage rows', (tx) =>
        tx.query(
          `insert into usage_hourly (tenant_id, project_id, meter, hour, value) values
             ($1, $2, 'requests', '2026-03-01T05:00:00Z', 10), ($1, $2, 'requests', '2026-03-01T06:00:00Z', 5),
             ($1, $2, 'storage_bytes', '2026-03-01T05:00:00Z', 48), ($1, $2, 'mau', '2026-03-02T00:00:00Z', 3),
             ($1, $2, 'ccu_peak', '2026-03-01T05:00:00Z', 6), ($1, $2, 'ccu_peak', '2026-03-01T06:00:00Z', 4),
             ($1, $2, 'server_seconds', '2026-03-01T05:00:00Z', 600), ($1, $2, 'server_seconds', '2026-03-01T06:00:00Z', 100),
             ($1, $5, 'ccu_peak', '2026-03-01T05:00:00Z', 5), ($1, $5, 'server_seconds', '2026-03-01T05:00:00Z', 100),
             ($3, $4, 'requests', '2026-03-01T05:00:00Z', 1000), ($3, $4, 'ccu_peak', '2026-03-01T05:00:00Z', 1000)`,
          [tenant, project.projectId, stranger.tenantId, stranger.projectId, sibling.projectId],
        ),
      );
      // The tenants' own peaks: at most the sum of their projects' (both projects did not peak at once).
      await database.db.operator('test: tenant peaks', (tx) =>
        tx.query(
          `insert into usage_tenant_hourly (tenant_id, meter, hour, value) values
             ($1, 'ccu_peak', '2026-03-01T05:00:00Z', 9), ($1, 'ccu_peak', '2026-03-01T06:00:00Z', 7), ($2, 'ccu_peak', '2026-03-01T05:00:00Z', 1000)`,
          [tenant, stranger.tenantId],
        ),
      );
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    it('lists every hour of every meter, zeros included, ordered by start and then meter', async () => {
      const report = await readUsage(app, tenant, { from: '2026-03-01T04:00:00Z', to: '2026-03-01T07:00:00Z', granularity: 'hour' });
      assert.deepEqual(
        { tenant_id: report.tenant_id, granularity: report.granularity, from: report.from, to: report.to },
        { tenant_id: tenant, granularity: 'hour', from: '2026-03-01T04:00:00.000Z', to: '2026-03-01T07:00:00.000Z' },
      );
      const cells = report.items.map((item) => `${item.start.slice(11, 13)} ${item.meter} ${item.value}`);
      assert.deepEqual(cells, [
        '04 ccu_peak 0', '04 mau 0', '04 messages 0', '04 requests 0', '04 server_seconds 0', '04 storage_bytes 0',
        '05 ccu_peak 9', '05 mau 0', '05 messages 0', '05 requests 10', '05 server_seconds 700', '05 storage_bytes 48',
        '06 ccu_peak 7', '06 mau 0', '06 messages 0', '06 requests 5', '06 server_seconds 100', '06 storage_bytes 0',
      ]);
      assert.ok(report.items.every((item) => item.project_id === null && item.final));
    });

    it('sums days and months, and a day of storage is the mean of its hours', async () => {
      const days = await readUsage(app, tenant, { from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z', granularity: 'day', project_id: project.projectId });
      assert.deepEqual(
        days.items.map((item) => [item.start.slice(0, 10), item.meter, item.value, item.project_id]),
        [
          ['2026-03-01', 'ccu_peak', 6, project.projectId], // the highest of its hours (6 and 4), not their sum
          ['2026-03-01', 'mau', 0, project.projectId],
          ['2026-03-01', 'messages', 0, project.projectId],
          ['2026-03-01', 'requests', 15, project.projectId],
          ['2026-03-01', 'server_seconds', 700, project.projectId], // 600 + 100: summed
          ['2026-03-01', 'storage_bytes', 2, project.projectId], // 48 bytes for one hour of 24
          ['2026-03-02', 'ccu_peak', 0, project.projectId],
          ['2026-03-02', 'mau', 3, project.projectId],
          ['2026-03-02', 'messages', 0, project.projectId],
          ['2026-03-02', 'requests', 0, project.projectId],
          ['2026-03-02', 'server_seconds', 0, project.projectId],
          ['2026-03-02', 'storage_bytes', 0, project.projectId],
        ],
      );
      // The tenant's ccu_peak is its own samples' highest (9 at 05:00), not a sum of its projects'.
      const tenantDays = await readUsage(app, tenant, { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', granularity: 'day' });
      assert.deepEqual(
        tenantDays.items.filter((item) => item.meter === 'ccu_peak' || item.meter === 'server_seconds').map((item) => [item.meter, item.value]),
        [['ccu_peak', 9], ['server_seconds', 800]],
      );
      const months = await readUsage(app, tenant, { from: '2026-02-01T00:00:00Z', to: '2026-04-01T00:00:00Z', granularity: 'month', meter: 'requests' });
      assert.deepEqual(months.items.map((item) => [item.start, item.value]), [['2026-02-01T00:00:00.000Z', 0], ['2026-03-01T00:00:00.000Z', 15]]);
      const peaks = await readUsage(app, tenant, { from: '2026-02-01T00:00:00Z', to: '2026-04-01T00:00:00Z', granularity: 'month', meter: 'ccu_peak' });
      assert.deepEqual(peaks.items.map((item) => [item.start, item.value]), [['2026-02-01T00:00:00.000Z', 0], ['2026-03-01T00:00:00.000Z', 9]]);
      const seconds = await readUsage(app, tenant, { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z', granularity: 'month', meter: 'server_seconds', project_id: project.projectId });
      assert.deepEqual(seconds.items.map((item) => item.value), [700]);
    });

    it('marks an hour final only once USAGE_FINAL_AFTER_SECONDS have passed since its end', async () => {
      const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      const report = await readUsage(app, tenant, { from: new Date(hour).toISOString(), to: new Date(hour + 3_600_000).toISOString(), granularity: 'hour', meter: 'mau' });
      assert.deepEqual(report.items.map((item) => item.final), [false]);
    });

    it('never shows another tenant its rows, nor a project of another tenant', async () => {
      const mine = await readUsage(app, tenant, { from: '2026-03-01T05:00:00Z', to: '2026-03-01T06:00:00Z', granularity: 'hour', meter: 'requests' });
      assert.equal(mine.items[0]!.value, 10);
      const theirs = await operator(app, 'GET', usageUrl(tenant, { from: '2026-03-01T05:00:00Z', to: '2026-03-01T06:00:00Z', granularity: 'hour', project_id: stranger.projectId }));
      assert.equal(theirs.statusCode, 404, theirs.body);
      assert.match(String(theirs.headers['content-type']), /^application\/problem\+json/);
    });

    it('answers 404 for an unknown tenant', async () => {
      const res = await operator(app, 'GET', usageUrl('999999999999', { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', granularity: 'day' }));
      assert.equal(res.statusCode, 404, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    });

    it('refuses bad ranges with 400 problem JSON', async () => {
      const bad: Record<string, string>[] = [
        { from: '2026-03-01T00:30:00Z', to: '2026-03-01T02:00:00Z', granularity: 'hour' },
        { from: '2026-03-01T00:00:00.001Z', to: '2026-03-01T02:00:00Z', granularity: 'hour' },
        { from: '2026-03-01T01:00:00Z', to: '2026-03-03T00:00:00Z', granularity: 'day' },
        { from: '2026-03-02T00:00:00Z', to: '2026-04-01T00:00:00Z', granularity: 'month' },
        { from: '2026-03-01T02:00:00Z', to: '2026-03-01T01:00:00Z', granularity: 'hour' },
        { from: '2026-03-01T01:00:00Z', to: '2026-03-01T01:00:00Z', granularity: 'hour' },
        { from: '2026-03-01T00:00:00Z', to: '2026-04-01T01:00:00Z', granularity: 'hour' }, // 745 hours
        { from: '2026-01-01T00:00:00Z', to: '2027-01-03T00:00:00Z', granularity: 'day' }, // 367 days
        { from: '2016-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z', granularity: 'month' }, // 121 months
        { from: 'yesterday', to: '2026-03-01T01:00:00Z', granularity: 'hour' },
        { from: '0000-01-01T00:00:00Z', to: '0000-01-01T01:00:00Z', granularity: 'hour' },
        { from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00', granularity: 'hour' },
        { from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00Z', granularity: 'week' },
        { from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00Z', granularity: 'hour', meter: 'bananas' },
        { from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00Z', granularity: 'hour', project_id: 'x' },
        { from: '2026-03-01T00:00:00Z', granularity: 'hour' },
        { from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00Z', granularity: 'hour', extra: '1' },
      ];
      for (const query of bad) {
        const res = await operator(app, 'GET', usageUrl(tenant, query));
        assert.equal(res.statusCode, 400, `${JSON.stringify(query)}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      }
      // The largest ranges are accepted.
      for (const query of [
        { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z', granularity: 'hour' },
        { from: '2026-01-01T00:00:00Z', to: '2027-01-02T00:00:00Z', granularity: 'day' },
        { from: '2016-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', granularity: 'month' },
        { from: '2026-03-01T02:00:00+02:00', to: '2026-03-01T03:00:00+02:00', granularity: 'hour' },
      ]) {
        const report = await readUsage(app, tenant, query);
        assert.ok(report.items.length > 0);
      }
    });

    it('is for the operator only', async () => {
      const url = usageUrl(tenant, { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', granularity: 'day' });
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url, headers: bearer(project.secretKey) })).statusCode, 403);
    });
  });
}
