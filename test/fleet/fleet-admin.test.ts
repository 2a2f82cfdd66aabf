/**
 * The operator's fleet API: registration with strict validation, the lazily created `default` fleet,
 * paging, quota changes, and deletion (which releases the fleet's allocations and stops its warm servers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { TINY_GAME_SERVER, allocate, childGameServers, getAllocation, udpAsk, type AllocationBody } from './helpers.js';

interface FleetBody {
  id: string;
  project_id: string;
  name: string;
  backend: string;
  labels: Record<string, string>;
  max_allocations: number;
  allocation_ttl_seconds: number;
  command: string[] | null;
  agones_fleet: string | null;
  created_at: string;
}

for (const [index, kind] of databaseKinds().entries()) {
  describe(`operator fleet API (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    const url = (p: TestProject, rest = '') => `/v1/admin/projects/${p.projectId}/fleets${rest}`;
    const names = async (p: TestProject) => (await operator(t.app, 'GET', url(p, '?limit=100'))).json<{ items: FleetBody[] }>().items.map((f) => f.name);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        env: { FLEET_LOCAL_BUFFER: '1', FLEET_LOCAL_PORT_RANGE: `${24000 + index * 300}-${24299 + index * 300}`, FLEET_ALLOCATION_TTL_SECONDS: '600' },
      });
      project = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('registers a fleet with the documented shape and defaults, audited', async () => {
      const res = await operator(t.app, 'POST', url(project), { name: 'arena', backend: 'local', labels: { tier: 'gold' }, command: TINY_GAME_SERVER });
      assert.equal(res.statusCode, 201, res.body);
      const fleet = res.json<FleetBody>();
      assert.deepEqual(
        { ...fleet, id: undefined, created_at: undefined },
        { id: undefined, created_at: undefined, project_id: project.projectId, name: 'arena', backend: 'local', labels: { tier: 'gold' }, max_allocations: 10, allocation_ttl_seconds: 600, command: TINY_GAME_SERVER, agones_fleet: null },
      );
      assert.equal((await operator(t.app, 'POST', url(project), { name: 'arena', backend: 'local' })).statusCode, 409);
      assert.equal((await operator(t.app, 'POST', '/v1/admin/projects/999999999/fleets', { name: 'x', backend: 'local' })).statusCode, 404);
      const audit = t.logs.records().find((r) => r.audit === true && r.action === 'fleet.create' && r.fleet === 'arena');
      assert.ok(audit, 'the registration is an audited operator action');
      assert.ok(!JSON.stringify(audit).includes(TINY_GAME_SERVER[2]!.slice(0, 40)), 'the command itself is not logged');
    });

    it('refuses bad registrations with 400 and stores nothing', async () => {
      const fresh = await createProject(t.app, await createTenant(t.app));
      const bad: unknown[] = [
        { name: 'Arena', backend: 'local' },
        { name: '-arena', backend: 'local' },
        { name: 'a'.repeat(64), backend: 'local' },
        { name: 'x', backend: 'gcp' },
        { name: 'x', backend: 'agones' },
        { name: 'x', backend: 'local', agones_fleet: 'y' },
        { name: 'x', backend: 'local', labels: { 'agones.dev/fleet': 'y' } },
        { name: 'x', backend: 'local', labels: { 'ggscale.dev/project': '1' } },
        { name: 'x', backend: 'local', labels: { ok: 'bad value!' } },
        { name: 'x', backend: 'local', max_allocations: -1 },
        { name: 'x', backend: 'local', max_allocations: 1.5 },
        { name: 'x', backend: 'local', max_allocations: '3' },
        { name: 'x', backend: 'local', allocation_ttl_seconds: 0 },
        { name: 'x', backend: 'local', allocation_ttl_seconds: 604_801 },
        { name: 'x', backend: 'local', command: [] },
        { name: 'x', backend: 'local', command: [''] },
        { name: 'x', backend: 'local', command: 'node server.js' },
        { name: 'x', backend: 'local', extra: true },
      ];
      for (const body of bad) {
        const res = await operator(t.app, 'POST', url(fresh), body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)} → ${res.statusCode} ${res.body}`);
      }
      assert.deepEqual(await names(fresh), ['default']);
    });

    it('every project has a default local fleet (max_allocations 10); a deleted one is not recreated', async () => {
      const fresh = await createProject(t.app, await createTenant(t.app));
      const list = await operator(t.app, 'GET', url(fresh));
      assert.equal(list.statusCode, 200);
      const [fleet] = list.json<{ items: FleetBody[] }>().items;
      assert.deepEqual([fleet?.name, fleet?.backend, fleet?.max_allocations, fleet?.command], ['default', 'local', 10, null]);
      assert.equal((await operator(t.app, 'DELETE', url(fresh, '/default'))).statusCode, 204);
      assert.deepEqual(await names(fresh), []);
      assert.equal((await allocate(t.app, fresh, { fleet: 'default' })).statusCode, 404);
      // The operator may register a fleet named default again.
      assert.equal((await operator(t.app, 'POST', url(fresh), { name: 'default', backend: 'local', max_allocations: 2 })).statusCode, 201);
      assert.deepEqual(await names(fresh), ['default']);
    });

    it('pages fleets by name', async () => {
      const fresh = await createProject(t.app, await createTenant(t.app));
      for (const name of ['zulu', 'alpha', 'mike']) assert.equal((await operator(t.app, 'POST', url(fresh), { name, backend: 'local' })).statusCode, 201);
      const first = (await operator(t.app, 'GET', url(fresh, '?limit=2'))).json<{ items: FleetBody[]; next_cursor: string }>();
      assert.deepEqual(first.items.map((f) => f.name), ['alpha', 'default']);
      const second = (await operator(t.app, 'GET', url(fresh, `?limit=2&cursor=${first.next_cursor}`))).json<{ items: FleetBody[]; next_cursor: string | null }>();
      assert.deepEqual(second.items.map((f) => f.name), ['mike', 'zulu']);
      assert.equal(second.next_cursor, null);
      assert.equal((await operator(t.app, 'GET', url(fresh, '?cursor=bad'))).statusCode, 400);
    });

    it('changes a fleet\'s quota and TTL', async () => {
      const res = await operator(t.app, 'PATCH', url(project, '/arena'), { max_allocations: 0, allocation_ttl_seconds: 30 });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual([res.json<FleetBody>().max_allocations, res.json<FleetBody>().allocation_ttl_seconds], [0, 30]);
      assert.equal((await allocate(t.app, project, { fleet: 'arena' })).statusCode, 429);
      assert.equal((await operator(t.app, 'PATCH', url(project, '/arena'), { max_allocations: 5 })).statusCode, 200);
      const allocated = await allocate(t.app, project, { fleet: 'arena' });
      assert.equal(allocated.statusCode, 201, allocated.body);
      const body = allocated.json<AllocationBody>();
      assert.ok(Date.parse(body.expires_at) - Date.parse(body.created_at) <= 31_000);
      assert.equal((await operator(t.app, 'PATCH', url(project, '/arena'), {})).statusCode, 400);
      assert.equal((await operator(t.app, 'PATCH', url(project, '/nope'), { max_allocations: 1 })).statusCode, 404);
    });

    it('deleting a fleet releases its allocations and stops its warm servers', async () => {
      await eventually(async () => childGameServers().some((n) => n.startsWith('arena-')), 10_000, 'the arena fleet has servers');
      const live = (await t.app.inject({ method: 'GET', url: '/v1/fleet/allocations?fleet=arena&state=Allocated', headers: bearer(project.secretKey) })).json<{ items: AllocationBody[] }>().items;
      assert.ok(live.length >= 1);
      assert.equal((await operator(t.app, 'DELETE', url(project, '/arena'))).statusCode, 204);
      for (const allocation of live) {
        assert.equal((await getAllocation(t.app, project, allocation.id)).json<AllocationBody>().state, 'Released');
        assert.equal(await udpAsk(allocation.address, allocation.ports[0]!.port, 'hello', 300), undefined);
      }
      await eventually(async () => !childGameServers().some((n) => n.startsWith('arena-')), 5_000, 'no arena server left');
      assert.equal((await allocate(t.app, project, { fleet: 'arena' })).statusCode, 404);
      assert.equal((await operator(t.app, 'DELETE', url(project, '/arena'))).statusCode, 404);
      assert.ok(t.logs.records().some((r) => r.audit === true && r.action === 'fleet.delete'));
    });
  });
}
