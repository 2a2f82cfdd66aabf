/**
 * The seed's milestone-1 smoke test, for real on the local backend: the project's `default` fleet warms
 * up, a GameServer is allocated, its UDP port echoes `hello` as `ACK: hello\n`, and after release nothing
 * answers any more. The game servers are the echo server shipped with ggscale, started the way a fresh
 * `npm start` starts them (`ggscale gameserver --port N`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { allocate, assertAllocationShape, childGameServers, getAllocation, metricValue, release, udpAsk, type AllocationBody } from './helpers.js';

for (const [index, kind] of databaseKinds().entries()) {
  describe(`local fleet smoke test (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;
    const range = { first: 21000 + index * 200, last: 21199 + index * 200 };

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        env: { FLEET_LOCAL_BUFFER: '1', FLEET_LOCAL_PORT_RANGE: `${range.first}-${range.last}`, FLEET_SWEEP_INTERVAL_MS: '200' },
      });
      project = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('allocate → Ready → UDP hello → ACK: hello\\n → release → no answer', async () => {
      // Touching fleets creates the project's default fleet; its warm buffer starts.
      const fleets = await t.app.inject({ method: 'GET', url: '/v1/fleet/fleets', headers: bearer(project.secretKey) });
      assert.equal(fleets.statusCode, 200, fleets.body);
      assert.deepEqual(
        fleets.json<{ items: Array<{ name: string; max_allocations: number }> }>().items.map((f) => [f.name, f.max_allocations]),
        [['default', 10]],
      );
      await eventually(async () => (await metricValue(t.app, 'ggscale_fleet_ready_game_servers')) >= 1, 15_000, 'a Ready game server');

      const res = await allocate(t.app, project, { fleet: 'default' });
      assert.equal(res.statusCode, 201, res.body);
      const allocation = res.json<AllocationBody>();
      assertAllocationShape(allocation);
      assert.equal(allocation.state, 'Allocated');
      assert.equal(allocation.fleet, 'default');
      assert.equal(allocation.address, '127.0.0.1');
      const udp = allocation.ports.find((p) => p.protocol === 'UDP')!;
      assert.ok(udp.port >= range.first && udp.port <= range.last, `port ${udp.port} is in FLEET_LOCAL_PORT_RANGE`);

      assert.equal(await udpAsk(allocation.address, udp.port, 'hello'), 'ACK: hello\n');
      // The game server sees its allocation through the SDK, as on Agones.
      assert.equal(await udpAsk(allocation.address, udp.port, 'GAMESERVER'), `NAME: ${allocation.game_server}\n`);

      const released = await release(t.app, project, allocation.id);
      assert.equal(released.statusCode, 204, released.body);
      assert.equal(await udpAsk(allocation.address, udp.port, 'hello', 500), undefined, 'a released game server answers nothing');
      const after = await getAllocation(t.app, project, allocation.id);
      assert.equal(after.json<AllocationBody>().state, 'Released');
      assert.ok(after.json<AllocationBody>().ended_at);
      assert.equal((await release(t.app, project, allocation.id)).statusCode, 204, 'releasing twice is a no-op');
      assert.ok(!childGameServers().includes(allocation.game_server), 'its process is gone');
    });

    it('a cold allocation starts a server and waits for it to become Ready', async () => {
      const cold = await createProject(t.app, await createTenant(t.app));
      const res = await allocate(t.app, cold, { fleet: 'default' });
      assert.equal(res.statusCode, 201, res.body);
      const allocation = res.json<AllocationBody>();
      assert.equal(await udpAsk(allocation.address, allocation.ports[0]!.port, 'hello'), 'ACK: hello\n');
      assert.equal((await release(t.app, cold, allocation.id)).statusCode, 204);
    });

    it('counts allocations by result and their latency', async () => {
      assert.ok((await metricValue(t.app, 'ggscale_fleet_allocations_total', { result: 'allocated' })) >= 2);
      assert.ok((await metricValue(t.app, 'ggscale_fleet_allocation_duration_seconds_count', { result: 'allocated' })) >= 2);
      assert.ok((await metricValue(t.app, 'ggscale_fleet_allocations_ended_total', { reason: 'Released' })) >= 2);
    });

    it('leaves no game-server process behind when the app closes', async () => {
      await eventually(async () => childGameServers().length >= 1, 15_000, 'warm servers running');
      await t.close();
      assert.deepEqual(childGameServers(), []);
      t = await buildTestApp({ db: database.db, env: { FLEET_LOCAL_PORT_RANGE: `${range.first}-${range.last}` } });
    });
  });
}
