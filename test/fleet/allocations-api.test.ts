/**
 * /v1/fleet/allocations on the local backend, black-box over HTTP: 404 / 429 / 503 + Retry-After,
 * Idempotency-Key, strict input, TTL expiry, and allocations ending when their game server crashes, turns
 * Unhealthy (and is replaced), shuts down or re-readies on its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { NEVER_READY, TINY_GAME_SERVER, allocate, assertAllocationShape, getAllocation, metricValue, release, udpAsk, type AllocationBody } from './helpers.js';

for (const [index, kind] of databaseKinds().entries()) {
  describe(`fleet allocations API (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let project: TestProject;

    async function registerFleet(p: TestProject, body: Record<string, unknown>) {
      const res = await operator(t.app, 'POST', `/v1/admin/projects/${p.projectId}/fleets`, { backend: 'local', command: TINY_GAME_SERVER, ...body });
      assert.equal(res.statusCode, 201, res.body);
    }
    const stateOf = async (p: TestProject, id: string) => (await getAllocation(t.app, p, id)).json<AllocationBody>().state;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        env: {
          FLEET_LOCAL_BUFFER: '1',
          FLEET_LOCAL_PORT_RANGE: `${22000 + index * 300}-${22299 + index * 300}`,
          FLEET_SWEEP_INTERVAL_MS: '100',
          FLEET_LOCAL_HEALTH_TIMEOUT_MS: '1000',
          FLEET_ALLOCATION_WAIT_MS: '2000',
        },
      });
      project = await createProject(t.app, await createTenant(t.app));
      await registerFleet(project, { name: 'tiny', max_allocations: 3 });
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('allocates with the documented shape; an unknown fleet is 404', async () => {
      const res = await allocate(t.app, project, { fleet: 'tiny', metadata: { labels: { mode: 'ranked' }, annotations: { map: 'de_dust' } } });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json<AllocationBody>();
      assertAllocationShape(body);
      assert.deepEqual([body.state, body.fleet, body.ended_at], ['Allocated', 'tiny', null]);
      assert.deepEqual(Object.keys(body.ports[0]!).sort(), ['name', 'port', 'protocol']);
      const ttl = Date.parse(body.expires_at) - Date.parse(body.created_at);
      assert.ok(ttl > 3590_000 && ttl <= 3601_000, `default TTL is an hour, got ${ttl} ms`);
      assert.equal(await udpAsk(body.address, body.ports[0]!.port, 'hello'), 'ACK: hello\n');
      assert.equal((await release(t.app, project, body.id)).statusCode, 204);

      const missing = await allocate(t.app, project, { fleet: 'nope' });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<{ type: string }>().type, 'https://ggscale.dev/problems/not-found');
      assert.equal((await getAllocation(t.app, project, '999999999')).statusCode, 404);
      assert.equal((await release(t.app, project, '999999999')).statusCode, 404);
    });

    it('refuses bad input with 400 and allocates nothing', async () => {
      const before = await metricValue(t.app, 'ggscale_fleet_allocations_total', { result: 'allocated' });
      const bad: unknown[] = [
        {},
        { fleet: 'Tiny' },
        { fleet: 'tiny', extra: 1 },
        { fleet: 7 },
        { fleet: 'tiny', labels: { 'agones.dev/fleet': 'other' } },
        { fleet: 'tiny', labels: { 'ggscale.dev/project': '1' } },
        { fleet: 'tiny', metadata: { labels: { 'ggscale.dev/project': '1' } } },
        { fleet: 'tiny', metadata: { labels: { 'x.agones.dev/fleet': 'other' } } },
        { fleet: 'tiny', metadata: { annotations: { 'ggscale.dev/tenant': '1' } } },
        { fleet: 'tiny', labels: { mode: 'has spaces' } },
        { fleet: 'tiny', labels: { mode: 7 } },
        { fleet: 'tiny', labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
        { fleet: 'tiny', metadata: { other: {} } },
        { fleet: 'tiny', labels: { ['k'.repeat(400)]: 'v' } },
      ];
      for (const body of bad) {
        const res = await allocate(t.app, project, body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body).slice(0, 80)} → ${res.statusCode} ${res.body}`);
        assert.equal(res.json<{ type: string }>().type, 'https://ggscale.dev/problems/validation');
      }
      const badKey = await allocate(t.app, project, { fleet: 'tiny' }, { 'idempotency-key': 'k'.repeat(256) });
      assert.equal(badKey.statusCode, 400);
      for (const url of ['/v1/fleet/allocations/abc', '/v1/fleet/allocations/0', '/v1/fleet/allocations/99999999999999999999']) {
        assert.equal((await t.app.inject({ method: 'GET', url, headers: bearer(project.secretKey) })).statusCode, 400, url);
      }
      for (const query of ['limit=0', 'limit=101', 'cursor=garbage', 'state=Pending', 'fleet=BAD', 'other=1']) {
        assert.equal((await t.app.inject({ method: 'GET', url: `/v1/fleet/allocations?${query}`, headers: bearer(project.secretKey) })).statusCode, 400, query);
      }
      assert.equal(await metricValue(t.app, 'ggscale_fleet_allocations_total', { result: 'allocated' }), before);
    });

    it('over the fleet\'s max_allocations is 429; a release frees the slot', async () => {
      await registerFleet(project, { name: 'quota', max_allocations: 2 });
      const first = (await allocate(t.app, project, { fleet: 'quota' })).json<AllocationBody>();
      const second = await allocate(t.app, project, { fleet: 'quota' });
      assert.equal(second.statusCode, 201, second.body);
      const third = await allocate(t.app, project, { fleet: 'quota' });
      assert.equal(third.statusCode, 429);
      assert.equal(third.json<{ type: string }>().type, 'https://ggscale.dev/problems/quota-exceeded');
      assert.equal((await release(t.app, project, first.id)).statusCode, 204);
      assert.equal((await allocate(t.app, project, { fleet: 'quota' })).statusCode, 201);

      await registerFleet(project, { name: 'closed', max_allocations: 0 });
      assert.equal((await allocate(t.app, project, { fleet: 'closed' })).statusCode, 429);
    });

    it('no Ready game server is 503 with Retry-After, and the failed attempt holds no quota', async () => {
      const unmatched = await allocate(t.app, project, { fleet: 'tiny', labels: { region: 'mars' } });
      assert.equal(unmatched.statusCode, 503);
      assert.equal(unmatched.json<{ type: string }>().type, 'https://ggscale.dev/problems/unavailable');
      assert.match(String(unmatched.headers['retry-after']), /^\d+$/);

      await registerFleet(project, { name: 'stuck', command: NEVER_READY, max_allocations: 1 });
      const started = Date.now();
      const stuck = await allocate(t.app, project, { fleet: 'stuck' });
      assert.equal(stuck.statusCode, 503, stuck.body);
      assert.ok(Date.now() - started >= 1900, 'waited FLEET_ALLOCATION_WAIT_MS for a server to become Ready');
      assert.ok(Number(stuck.headers['retry-after']) >= 1);
      // Quota 1 and the 503 above: had it kept its Pending slot, this would be a 429.
      assert.equal((await allocate(t.app, project, { fleet: 'stuck' })).statusCode, 503);
      assert.ok((await metricValue(t.app, 'ggscale_fleet_allocations_total', { result: 'no_ready_server' })) >= 3);
    });

    it('Idempotency-Key: a retry returns the first answer and allocates nothing more', async () => {
      const key = { 'idempotency-key': `alloc-${Date.now()}` };
      const first = await allocate(t.app, project, { fleet: 'tiny', labels: {} }, key);
      assert.equal(first.statusCode, 201, first.body);
      const retry = await allocate(t.app, project, { labels: {}, fleet: 'tiny' }, key);
      assert.equal(retry.statusCode, 201);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.deepEqual(retry.json(), first.json());
      const live = await t.app.inject({ method: 'GET', url: '/v1/fleet/allocations?fleet=tiny&state=Allocated', headers: bearer(project.secretKey) });
      assert.equal(live.json<{ items: AllocationBody[] }>().items.filter((a) => a.id === first.json<AllocationBody>().id).length, 1);
      assert.equal(live.json<{ items: AllocationBody[] }>().items.length, 1, 'one live allocation, not two');

      const different = await allocate(t.app, project, { fleet: 'quota' }, key);
      assert.equal(different.statusCode, 409);
      // Even after a release, the retry gets the first answer (and changes nothing).
      assert.equal((await release(t.app, project, first.json<AllocationBody>().id)).statusCode, 204);
      const late = await allocate(t.app, project, { fleet: 'tiny', labels: {} }, key);
      assert.deepEqual(late.json(), first.json());
      assert.equal(await stateOf(project, first.json<AllocationBody>().id), 'Released');
    });

    it('allocations expire at their TTL and their game server is shut down', async () => {
      await registerFleet(project, { name: 'short', allocation_ttl_seconds: 1 });
      const res = await allocate(t.app, project, { fleet: 'short' });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json<AllocationBody>();
      assert.ok(Date.parse(body.expires_at) - Date.parse(body.created_at) <= 1500);
      await eventually(async () => (await stateOf(project, body.id)) === 'Expired', 5_000, 'the allocation expires');
      await eventually(async () => (await udpAsk(body.address, body.ports[0]!.port, 'hello', 300)) === undefined, 5_000, 'its server is gone');
      assert.ok((await metricValue(t.app, 'ggscale_fleet_allocations_ended_total', { reason: 'Expired' })) >= 1);
    });

    it('a crashed or Unhealthy game server makes its allocation Lost; one that shuts down or re-readies Ends it', async () => {
      await registerFleet(project, { name: 'life', max_allocations: 10 });
      const take = async () => {
        const res = await allocate(t.app, project, { fleet: 'life' });
        assert.equal(res.statusCode, 201, res.body);
        return res.json<AllocationBody>();
      };
      const [crash, sick, exit, again] = [await take(), await take(), await take(), await take()];
      const send = (a: AllocationBody, text: string) => udpAsk(a.address, a.ports[0]!.port, text, 300);

      await send(crash, 'CRASH');
      await eventually(async () => (await stateOf(project, crash.id)) === 'Lost', 5_000, 'a crash makes it Lost');
      // Health pings stop: Unhealthy after FLEET_LOCAL_HEALTH_TIMEOUT_MS, then the process is killed.
      assert.equal(await send(sick, 'UNHEALTHY'), 'ACK: UNHEALTHY\n');
      await eventually(async () => (await stateOf(project, sick.id)) === 'Lost', 5_000, 'no health pings make it Lost');
      await eventually(async () => (await send(sick, 'hello')) === undefined, 5_000, 'the Unhealthy server is killed');
      await send(exit, 'EXIT');
      await eventually(async () => (await stateOf(project, exit.id)) === 'Ended', 5_000, 'a shutdown Ends it');
      await send(again, 'READY');
      await eventually(async () => (await stateOf(project, again.id)) === 'Ended', 5_000, 'a re-Ready Ends it');
      // Replaced: the fleet still has Ready servers to hand out.
      const next = await allocate(t.app, project, { fleet: 'life' });
      assert.equal(next.statusCode, 201, next.body);
      assert.equal(await send(next.json<AllocationBody>(), 'hello'), 'ACK: hello\n');
      assert.ok((await metricValue(t.app, 'ggscale_fleet_allocations_ended_total', { reason: 'Lost' })) >= 2);
    });

    it('lists allocations newest first with a cursor and filters', async () => {
      const fresh = await createProject(t.app, await createTenant(t.app));
      await registerFleet(fresh, { name: 'tiny' });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await allocate(t.app, fresh, { fleet: 'tiny' })).json<AllocationBody>().id);
      await release(t.app, fresh, ids[0]!);
      const page1 = await t.app.inject({ method: 'GET', url: '/v1/fleet/allocations?limit=2', headers: bearer(fresh.secretKey) });
      assert.equal(page1.statusCode, 200);
      const body1 = page1.json<{ items: AllocationBody[]; next_cursor: string | null }>();
      assert.deepEqual(body1.items.map((a) => a.id), [ids[2], ids[1]]);
      assert.ok(body1.next_cursor);
      const page2 = await t.app.inject({ method: 'GET', url: `/v1/fleet/allocations?limit=2&cursor=${body1.next_cursor}`, headers: bearer(fresh.secretKey) });
      const body2 = page2.json<{ items: AllocationBody[]; next_cursor: string | null }>();
      assert.deepEqual(body2.items.map((a) => a.id), [ids[0]]);
      assert.equal(body2.next_cursor, null);
      const released = await t.app.inject({ method: 'GET', url: '/v1/fleet/allocations?state=Released', headers: bearer(fresh.secretKey) });
      assert.deepEqual(released.json<{ items: AllocationBody[] }>().items.map((a) => a.id), [ids[0]]);
      for (const id of ids.slice(1)) await release(t.app, fresh, id);
    });
  });
}
