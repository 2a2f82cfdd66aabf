/**
 * Exactly-once matching with two nodes on one PostgreSQL and one Redis (docs/api/matchmaker.md): both run the
 * matcher every 50 ms over the same pool while tickets arrive on both; every ticket ends in exactly one match,
 * every match holds two tickets, no group is left held, and both nodes' players hear of their matches.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { metricValue } from '../fleet/helpers.js';

const REDIS_URL = process.env.REDIS_URL;
const PAIRS = 12;

type Json = Record<string, unknown>;

describe('matchmaking with two nodes racing over one pool', { skip: REDIS_URL || process.env.CI ? false : 'REDIS_URL not set' }, () => {
  const kind = databaseKinds().find((k) => k.name === 'postgres');
  let database: TestDatabase;
  let project: TestProject;
  const nodes: { t: TestApp; cache: CacheBackend }[] = [];

  before(async () => {
    assert.ok(kind, 'two nodes need a shared PostgreSQL (DATABASE_URL)');
    database = await kind.create();
    for (const [index, ports] of ['24400-24599', '24600-24799'].entries()) {
      const cache = await createCache({ backend: 'redis', redisUrl: REDIS_URL! });
      const t = await buildTestApp({
        db: database.db,
        cache,
        env: {
          CACHE_BACKEND: 'redis',
          REDIS_URL: REDIS_URL!,
          MATCHMAKER_INTERVAL_MS: '50',
          FLEET_LOCAL_BUFFER: '2',
          FLEET_LOCAL_PORT_RANGE: ports,
          FLEET_LOCAL_NODE_ID: `mm-node-${index}`,
          FLEET_SWEEP_INTERVAL_MS: '200',
          FLEET_ALLOCATION_WAIT_MS: '30000',
        },
      });
      nodes.push({ t, cache });
    }
    const app = nodes[0]!.t.app;
    project = await createProject(app, await createTenant(app));
    // Room for every match at once.
    await app.inject({ method: 'GET', url: '/v1/fleet/fleets', headers: bearer(project.secretKey) });
    assert.equal((await operator(app, 'PATCH', `/v1/admin/projects/${project.projectId}/fleets/default`, { max_allocations: 50 })).statusCode, 200);
    const pool = await app.inject({
      method: 'POST',
      url: '/v1/matchmaker/pools',
      headers: bearer(project.secretKey),
      payload: { id: 'race', fleet: 'default', min_players: 2, max_players: 2, skill: { window_start: 1e6, growth_per_second: 0 }, max_wait_seconds: 600 },
    });
    assert.equal(pool.statusCode, 201, pool.body);
  });
  after(async () => {
    for (const { t, cache } of nodes) {
      await t.close();
      await cache.close();
    }
    await database?.drop();
  });

  it('every ticket joins exactly one match, whichever node forms it', async () => {
    const players: TestPlayer[] = [];
    for (let i = 0; i < PAIRS * 2; i++) players.push(await createPlayer(nodes[i % 2]!.t.app, project));
    const tickets = await Promise.all(
      players.map(async (player, i) => {
        const res = await nodes[i % 2]!.t.app.inject({
          method: 'POST',
          url: '/v1/matchmaker/tickets',
          headers: bearer(player.accessToken),
          payload: { pool: 'race', skill: i, regions: ['eu'] },
        });
        assert.equal(res.statusCode, 201, res.body);
        return res.json<Json>();
      }),
    );
    const read = (i: number) =>
      nodes[(i + 1) % 2]!.t.app.inject({ method: 'GET', url: `/v1/matchmaker/tickets/${tickets[i]!.id as string}`, headers: bearer(players[i]!.accessToken) });
    await eventually(
      async () => (await Promise.all(tickets.map(async (_, i) => (await read(i)).json<Json>().state))).every((state) => state === 'matched'),
      60_000,
      'every ticket matched',
    );

    const rows = await database.db.operator('test: matches', (tx) =>
      tx.query<{ id: string; state: string; teams: { players: { player_id: string; ticket_id: string }[] }[] }>(
        'select id, state, teams from matchmaker_matches order by id',
      ),
    );
    const ready = rows.filter((row) => row.state === 'ready');
    assert.equal(ready.length, PAIRS, `${PAIRS} matches (${rows.map((row) => row.state).join(', ')})`);
    assert.equal(rows.filter((row) => row.state === 'held').length, 0, 'no group left held');
    const seen = new Map<string, string>();
    for (const match of ready) {
      const ticketIds = match.teams.flatMap((team) => team.players.map((player) => player.ticket_id));
      assert.equal(ticketIds.length, 2);
      for (const ticketId of ticketIds) {
        assert.equal(seen.has(ticketId), false, `ticket ${ticketId} in two matches`);
        seen.set(ticketId, String(match.id));
      }
    }
    for (const [i, ticket] of tickets.entries()) assert.equal((await read(i)).json<Json>().match_id, seen.get(ticket.id as string));
    const matchesFormed = await Promise.all(nodes.map(({ t }) => metricValue(t.app, 'ggscale_matchmaker_matches_total')));
    assert.equal(matchesFormed[0]! + matchesFormed[1]!, PAIRS, `matches stored per node: ${matchesFormed.join(', ')}`);
  });
});
