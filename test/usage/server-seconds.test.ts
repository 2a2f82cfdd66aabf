/**
 * server_seconds (docs/api/usage.md): each allocation's time from allocated until ended (or now, while it
 * runs), split across UTC hours and summed per project; a tenant's is the sum of its projects. Every flush
 * recomputes the open hours, so flushing again never adds twice. Allocations are written directly with known
 * times (the hours before now stay open: USAGE_FINAL_AFTER_SECONDS is a day here).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { HOUR, iso, readUsage } from './helpers.js';

const MINUTE = 60_000;

for (const kind of databaseKinds()) {
  describe(`usage server_seconds (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { USAGE_FLUSH_SECONDS: '1', USAGE_FINAL_AFTER_SECONDS: '86400' } });
      app = t.app;
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    /** One allocation of the project (its own fleet), allocated and ended at known instants. */
    const allocate = async (project: TestProject, allocatedAt: number | null, endedAt: number | null) => {
      const state = allocatedAt === null ? 'Pending' : endedAt === null ? 'Allocated' : 'Released';
      await database.db.operator('test: allocation', (tx) =>
        tx.query(
          `with f as (insert into fleets (tenant_id, project_id, name, backend, max_allocations, allocation_ttl_seconds)
                      values ($1, $2, 'f-' || md5(random()::text), 'local', 10, 3600) returning tenant_id, project_id, id)
           insert into fleet_allocations (tenant_id, project_id, fleet_id, backend, state, game_server, allocated_at, ended_at)
           select tenant_id, project_id, id, 'local', $3, 'gs-1', $4, $5 from f`,
          [project.tenantId, project.projectId, state, allocatedAt === null ? null : new Date(allocatedAt), endedAt === null ? null : new Date(endedAt)],
        ),
      );
    };

    /** Seconds per hour of [hour - 3h, hour + 1h), for the tenant or one of its projects. */
    const hours = async (tenantId: string, hour: number, projectId?: string) => {
      const report = await readUsage(app, tenantId, {
        from: iso(hour - 3 * HOUR),
        to: iso(hour + HOUR),
        granularity: 'hour',
        meter: 'server_seconds',
        ...(projectId ? { project_id: projectId } : {}),
      });
      return report.items.map((item) => item.value);
    };

    it('splits each allocation across the hours it overlaps, per project and summed for the tenant', async () => {
      const tenant = await createTenant(app);
      const first = await createProject(app, tenant);
      const second = await createProject(app, tenant);
      const other = await createProject(app, await createTenant(app));
      const hour = Math.floor(Date.now() / HOUR) * HOUR;

      await allocate(first, hour - 2 * HOUR + 30 * MINUTE, hour - HOUR + 15 * MINUTE); // 1800 s, then 900 s
      await allocate(first, hour - 10 * MINUTE, null); // 600 s, then running: the seconds of this hour so far
      await allocate(second, hour - 2 * HOUR - 5 * MINUTE, hour - 2 * HOUR + 10 * MINUTE); // 300 s, then 600 s
      await allocate(second, null, null); // pending: never allocated, never counted
      await allocate(other, hour - 2 * HOUR, hour - HOUR); // another tenant's hour

      // A flush may land between the inserts above: wait for one that has seen them all.
      let seen: number[] = [];
      let rest: number[][] = [];
      await eventually(
        async () => {
          seen = await hours(tenant, hour, first.projectId);
          rest = [await hours(tenant, hour, second.projectId), (await hours(tenant, hour)).slice(0, 3), await hours(other.tenantId, hour)];
          return isDeepStrictEqual(seen.slice(0, 3), [0, 1800, 1500]) && seen[3]! > 0 && isDeepStrictEqual(rest[2], [0, 3600, 0, 0]);
        },
        10_000,
        () => `first project's hours: ${JSON.stringify(seen)}; second's, the tenant's, the other tenant's: ${JSON.stringify(rest)}`,
      );
      assert.ok(seen[3]! <= 3600);
      assert.deepEqual(rest[0], [300, 600, 0, 0]);
      assert.deepEqual(rest[1], [300, 2400, 1500]);

      // Flushes recompute rather than add: the finished hours read the same after more flushes.
      const running = seen[3]!;
      await eventually(async () => (await hours(tenant, hour, first.projectId))[3]! > running || Date.now() >= hour + HOUR, 10_000, 'another flush');
      assert.deepEqual((await hours(tenant, hour, first.projectId)).slice(0, 3), [0, 1800, 1500]);
      assert.deepEqual((await hours(tenant, hour)).slice(0, 3), [300, 2400, 1500]);
    });
  });
}
