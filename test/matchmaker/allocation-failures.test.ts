/**
 * When a formed group cannot get its game server (docs/api/matchmaker.md): while the fleet is at its
 * max_allocations the group is held and retried; past MATCHMAKER_ALLOCATION_TIMEOUT_SECONDS it is dissolved and
 * its tickets search again keeping their age, then match once the fleet has room; a ticket cancelled while its
 * group is held dissolves the group and frees the others; a deleted fleet expires its pool's tickets
 * (`fleet-missing`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { metricValue } from '../fleet/helpers.js';

type Json = Record<string, unknown>;

const pool = (id: string, fleet: string) => ({ id, fleet, min_players: 2, max_players: 2, skill: { window_start: 100, growth_per_second: 0 }, max_wait_seconds: 600 });

for (const [index, kind] of databaseKinds().entries()) {
  describe(`matchmaker allocation failures (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let project: TestProject;
    const range = { first: 23600 + index * 200, last: 23799 + index * 200 };

    const call = (method: 'GET' | 'POST' | 'DELETE', url: string, credential: string, payload?: unknown) =>
      app.inject({ method, url, headers: bearer(credential), ...(payload === undefined ? {} : { payload: payload as object }) });
    const ticket = async (player: TestPlayer, poolId: string) => {
      const res = await call('POST', '/v1/matchmaker/tickets', player.accessToken, { pool: poolId, skill: 1000, regions: ['eu'] });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<Json>();
    };
    const read = async (player: TestPlayer, id: unknown) => (await call('GET', `/v1/matchmaker/tickets/${id as string}`, player.accessToken)).json<Json>();
    const attempts = (outcome: string) => metricValue(app, 'ggscale_matchmaker_allocation_attempts_total', { outcome });
    const heldBy = async (id: unknown) =>
      (await database.db.operator('test: held_by', (tx) => tx.query<{ held_by: string | null }>('select held_by from matchmaker_tickets where id = $1', [id as string])))[0]!.held_by;
    const fleet = (method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => operator(app, method, `/v1/admin/projects/${project.projectId}/fleets${path}`, body);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        env: {
          MATCHMAKER_INTERVAL_MS: '100',
          MATCHMAKER_ALLOCATION_TIMEOUT_SECONDS: '1',
          FLEET_LOCAL_BUFFER: '1',
          FLEET_LOCAL_PORT_RANGE: `${range.first}-${range.last}`,
          FLEET_SWEEP_INTERVAL_MS: '200',
        },
      });
      app = t.app;
      project = await createProject(app, await createTenant(app));
      assert.equal((await fleet('POST', '', { name: 'full', backend: 'local', max_allocations: 0 })).statusCode, 201);
      assert.equal((await fleet('POST', '', { name: 'doomed', backend: 'local', max_allocations: 0 })).statusCode, 201);
      for (const [id, fleetName] of [['full', 'full'], ['cancel', 'full'], ['doomed', 'doomed']]) {
        assert.equal((await call('POST', '/v1/matchmaker/pools', project.secretKey, pool(id!, fleetName!))).statusCode, 201);
      }
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    it('a fleet at max_allocations: held and retried, dissolved after the timeout keeping the tickets\' age, matched once there is room', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const [ta, tb] = [await ticket(a, 'full'), await ticket(b, 'full')];
      await eventually(async () => (await attempts('retry')) >= 1, 10_000, 'an attempt refused and held for a retry');
      await eventually(async () => (await attempts('dissolved')) >= 1, 10_000, 'the group dissolved after the timeout');
      for (const [player, id, created] of [[a, ta.id, ta.created_at], [b, tb.id, tb.created_at]] as const) {
        const now = await read(player, id);
        assert.deepEqual([now.state, now.created_at], ['searching', created], 'searching again, with its age');
      }
      assert.equal((await fleet('PATCH', '/full', { max_allocations: 5 })).statusCode, 200);
      await eventually(async () => (await read(a, ta.id)).state === 'matched', 20_000, 'matched once the fleet has room');
      assert.equal((await read(b, tb.id)).match_id, (await read(a, ta.id)).match_id);
      assert.equal((await fleet('PATCH', '/full', { max_allocations: 0 })).statusCode, 200);
    });

    it('a ticket cancelled while its group is held dissolves the group; the other ticket searches on, free', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const [ta, tb] = [await ticket(a, 'cancel'), await ticket(b, 'cancel')];
      await eventually(async () => (await heldBy(ta.id)) !== null, 10_000, 'the two tickets held as a group');
      const group = await heldBy(ta.id);
      assert.equal(await heldBy(tb.id), group);
      assert.equal((await call('DELETE', `/v1/matchmaker/tickets/${ta.id as string}`, a.accessToken)).statusCode, 200);
      assert.equal(await heldBy(tb.id), null, 'freed in the cancel\'s own transaction');
      const [state] = await database.db.operator('test: group', (tx) => tx.query<{ state: string }>('select state from matchmaker_matches where id = $1', [group!]));
      assert.equal(state!.state, 'dissolved');
      assert.equal((await read(b, tb.id)).state, 'searching');
    });

    it('a deleted fleet expires its pool\'s tickets as fleet-missing', async () => {
      const [a, b] = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      assert.equal((await fleet('DELETE', '/doomed')).statusCode, 204);
      const [ta, tb] = [await ticket(a, 'doomed'), await ticket(b, 'doomed')];
      await eventually(async () => (await read(a, ta.id)).state === 'expired', 10_000, 'expired');
      for (const [player, id] of [[a, ta.id], [b, tb.id]] as const) {
        const now = await read(player, id);
        assert.deepEqual([now.state, now.ended_reason], ['expired', 'fleet-missing']);
      }
    });
  });
}
