/**
 * Isolation: a project cannot allocate from, see or release another project's fleets or allocations —
 * whether the other project belongs to another tenant or to the same one — and only secret keys reach
 * /v1/fleet. Game servers of one project's fleet are never handed to another project.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { TINY_GAME_SERVER, allocate, getAllocation, release, udpAsk, type AllocationBody } from './helpers.js';

for (const [index, kind] of databaseKinds().entries()) {
  describe(`fleet isolation (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let a: TestProject;
    let sibling: TestProject;
    let b: TestProject;
    let allocationOfA: AllocationBody;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        env: { FLEET_LOCAL_BUFFER: '1', FLEET_LOCAL_PORT_RANGE: `${23000 + index * 300}-${23299 + index * 300}` },
      });
      const tenantA = await createTenant(t.app);
      a = await createProject(t.app, tenantA);
      sibling = await createProject(t.app, tenantA);
      b = await createProject(t.app, await createTenant(t.app));
      const res = await operator(t.app, 'POST', `/v1/admin/projects/${a.projectId}/fleets`, { name: 'arena', backend: 'local', command: TINY_GAME_SERVER, max_allocations: 1 });
      assert.equal(res.statusCode, 201, res.body);
      const allocated = await allocate(t.app, a, { fleet: 'arena' }, { 'idempotency-key': 'shared-key' });
      assert.equal(allocated.statusCode, 201, allocated.body);
      allocationOfA = allocated.json<AllocationBody>();
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    for (const other of ['sibling', 'b'] as const) {
      it(`another project (${other === 'b' ? 'another tenant' : 'same tenant'}) cannot allocate from, see or release A's fleet and allocations`, async () => {
        const p = other === 'b' ? b : sibling;
        assert.equal((await allocate(t.app, p, { fleet: 'arena' })).statusCode, 404, 'allocate from A\'s fleet');
        assert.equal((await getAllocation(t.app, p, allocationOfA.id)).statusCode, 404, 'read A\'s allocation');
        assert.equal((await release(t.app, p, allocationOfA.id)).statusCode, 404, 'release A\'s allocation');
        const list = await t.app.inject({ method: 'GET', url: '/v1/fleet/allocations', headers: bearer(p.secretKey) });
        assert.ok(!list.json<{ items: AllocationBody[] }>().items.some((x) => x.id === allocationOfA.id), 'list A\'s allocations');
        const fleets = await t.app.inject({ method: 'GET', url: '/v1/fleet/fleets', headers: bearer(p.secretKey) });
        assert.deepEqual(fleets.json<{ items: Array<{ name: string }> }>().items.map((f) => f.name), ['default'], 'see A\'s fleets');
        // A's allocation is untouched and its server still serves.
        assert.equal((await getAllocation(t.app, a, allocationOfA.id)).json<AllocationBody>().state, 'Allocated');
        assert.equal(await udpAsk(allocationOfA.address, allocationOfA.ports[0]!.port, 'hello'), 'ACK: hello\n');
      });
    }

    it('the same Idempotency-Key in another project is another request; quotas are per project', async () => {
      await operator(t.app, 'POST', `/v1/admin/projects/${b.projectId}/fleets`, { name: 'arena', backend: 'local', command: TINY_GAME_SERVER, max_allocations: 1 });
      // A's arena is at its quota of 1; B's arena of the same name is not.
      assert.equal((await allocate(t.app, a, { fleet: 'arena' })).statusCode, 429);
      const res = await allocate(t.app, b, { fleet: 'arena' }, { 'idempotency-key': 'shared-key' });
      assert.equal(res.statusCode, 201, res.body);
      const ofB = res.json<AllocationBody>();
      assert.notEqual(ofB.id, allocationOfA.id);
      assert.notEqual(ofB.game_server, allocationOfA.game_server, 'B gets its own fleet\'s server, never A\'s');
      assert.equal((await release(t.app, b, ofB.id)).statusCode, 204);
      assert.equal((await getAllocation(t.app, a, allocationOfA.id)).json<AllocationBody>().state, 'Allocated');
    });

    it('only a secret key reaches /v1/fleet', async () => {
      const player = await createPlayer(t.app, a);
      for (const [credential, status] of [[a.publishableKey, 403], [player.accessToken, 403], ['ggs_sk_' + 'x'.repeat(43), 401]] as const) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/fleet/allocations', headers: bearer(credential), payload: { fleet: 'arena' } });
        assert.equal(res.statusCode, status);
      }
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/fleet/allocations/${allocationOfA.id}` })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'POST', url: `/v1/admin/projects/${a.projectId}/fleets`, headers: bearer(a.secretKey), payload: { name: 'x', backend: 'local' } })).statusCode, 403);
    });
  });
}
