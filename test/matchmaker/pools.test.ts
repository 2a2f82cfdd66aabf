/**
 * Matchmaker pools over HTTP (docs/api/matchmaker.md): created, read with their stats, listed by id, patched
 * and deleted with a secret key; every inconsistent rule is a 400 naming it and changes nothing; unknown fleets
 * and boards are 404; ids and the per-project limit are 409; other projects and other credentials see nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createPlayer, createProject, createTenant, type TestProject } from '../support/tenancy.js';

const POOL = {
  id: 'ranked-2v2',
  fleet: 'default',
  min_players: 4,
  max_players: 4,
  team_count: 2,
  team_size: 2,
  skill: { window_start: 100, growth_per_second: 10 },
  max_wait_seconds: 120,
};

type Json = Record<string, unknown>;

for (const kind of databaseKinds()) {
  describe(`matchmaker pools (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let project: TestProject;

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, credential = project.secretKey) =>
      app.inject({ method, url, headers: bearer(credential), ...(payload === undefined ? {} : { payload: payload as object }) });
    const problem = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, slug?: string) => {
      assert.equal(res.statusCode, status, res.body);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      if (slug) assert.equal((JSON.parse(res.body) as { type: string }).type.split('/').at(-1), slug, res.body);
    };
    const listIds = async () => ((await call('GET', '/v1/matchmaker/pools?limit=100')).json<{ items: Json[] }>()).items.map((p) => p.id);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { MATCHMAKER_MAX_POOLS: '5' } });
      app = t.app;
      project = await createProject(app, await createTenant(app));
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    it('POST creates a pool (201) with its defaults and times; GET answers it with stats', async () => {
      const res = await call('POST', '/v1/matchmaker/pools', POOL);
      assert.equal(res.statusCode, 201, res.body);
      const pool = res.json<Json>();
      assert.equal(pool.id, 'ranked-2v2');
      assert.equal(pool.fleet, 'default');
      assert.deepEqual(pool.skill, { window_start: 100, growth_per_second: 10, window_max: null, source: 'ticket', default: 0 });
      assert.equal(pool.fill_after_seconds, null);
      assert.equal(pool.regions, null);
      assert.deepEqual(pool.equal_properties, []);
      assert.deepEqual(pool.allocation_labels, {});
      assert.equal(typeof pool.created_at, 'string');
      assert.equal(pool.created_at, pool.updated_at);

      const got = await call('GET', '/v1/matchmaker/pools/ranked-2v2');
      assert.equal(got.statusCode, 200, got.body);
      const { stats, ...rest } = got.json<Json>();
      assert.deepEqual(rest, pool);
      assert.deepEqual(stats, { tickets_searching: 0, players_searching: 0, oldest_wait_seconds: 0, matches_last_hour: 0 });
    });

    it('a pool with every optional rule round-trips', async () => {
      await call('POST', '/v1/leaderboards', { id: 'elo', sort: 'desc', operator: 'set' });
      const full = {
        id: 'casual_eu',
        fleet: 'default',
        min_players: 2,
        max_players: 8,
        skill: { window_start: 50, growth_per_second: 5.5, window_max: 400, source: 'leaderboard:elo', default: 1000 },
        max_wait_seconds: 300,
        fill_after_seconds: 20,
        regions: ['eu', 'us-east'],
        region_label: 'example.com/region',
        equal_properties: ['mode', 'map.size'],
        allocation_labels: { tier: 'premium' },
      };
      const res = await call('POST', '/v1/matchmaker/pools', full);
      assert.equal(res.statusCode, 201, res.body);
      const { created_at: _c, updated_at: _u, ...pool } = res.json<Json>();
      assert.deepEqual(pool, { ...full, team_count: null, team_size: null });
    });

    it('inconsistent or out-of-range rules are 400 and create nothing', async () => {
      const bad: [string, Json][] = [
        ['id pattern', { ...POOL, id: 'Bad Id' }],
        ['id too long', { ...POOL, id: 'a'.repeat(65) }],
        ['min > max', { ...POOL, team_count: undefined, team_size: undefined, min_players: 5, max_players: 4 }],
        ['max > 100', { ...POOL, team_count: undefined, team_size: undefined, min_players: 1, max_players: 101 }],
        ['min 0', { ...POOL, team_count: undefined, team_size: undefined, min_players: 0, max_players: 4 }],
        ['team_count without team_size', { ...POOL, team_size: undefined }],
        ['teams not matching the sizes', { ...POOL, min_players: 3, max_players: 4 }],
        ['team_count 9', { ...POOL, team_count: 9, min_players: 18, max_players: 18 }],
        ['team_size 51', { ...POOL, team_count: 2, team_size: 51, min_players: 102, max_players: 102 }],
        ['fill_after with teams', { ...POOL, fill_after_seconds: 10 }],
        ['window_max below window_start', { ...POOL, skill: { window_start: 100, growth_per_second: 1, window_max: 50 } }],
        ['negative growth', { ...POOL, skill: { window_start: 100, growth_per_second: -1 } }],
        ['bad skill source', { ...POOL, skill: { window_start: 1, growth_per_second: 1, source: 'elo' } }],
        ['max_wait 9', { ...POOL, max_wait_seconds: 9 }],
        ['max_wait 3601', { ...POOL, max_wait_seconds: 3601 }],
        ['region name', { ...POOL, regions: ['EU'] }],
        ['33 regions', { ...POOL, regions: Array.from({ length: 33 }, (_, i) => `r${i}`) }],
        ['duplicate regions', { ...POOL, regions: ['eu', 'eu'] }],
        ['9 equal properties', { ...POOL, equal_properties: Array.from({ length: 9 }, (_, i) => `p${i}`) }],
        ['reserved allocation label', { ...POOL, allocation_labels: { 'ggscale.dev/match': 'x' } }],
        ['bad region label', { ...POOL, region_label: 'agones.dev/region' }],
        ['unknown member', { ...POOL, colour: 'red' }],
      ];
      for (const [why, body] of bad) {
        const res = await call('POST', '/v1/matchmaker/pools', { ...body, id: body.id ?? `bad-${why.replace(/\W+/g, '-')}` });
        problem(res, 400);
      }
      assert.deepEqual(await listIds(), ['casual_eu', 'ranked-2v2'], 'nothing was created');
    });

    it('an unknown fleet or board is 404; a taken id is 409; past MATCHMAKER_MAX_POOLS is 409 limit-reached', async () => {
      problem(await call('POST', '/v1/matchmaker/pools', { ...POOL, id: 'nofleet', fleet: 'nope' }), 404);
      problem(await call('POST', '/v1/matchmaker/pools', { ...POOL, id: 'noboard', skill: { window_start: 1, growth_per_second: 1, source: 'leaderboard:nope' } }), 404);
      problem(await call('POST', '/v1/matchmaker/pools', POOL), 409, 'conflict');
      for (const id of ['p3', 'p4', 'p5']) assert.equal((await call('POST', '/v1/matchmaker/pools', { ...POOL, id })).statusCode, 201);
      const over = await call('POST', '/v1/matchmaker/pools', { ...POOL, id: 'p6' });
      problem(over, 409, 'limit-reached');
      assert.equal((over.json<Json>()).limit, 5);
      assert.deepEqual(await listIds(), ['casual_eu', 'p3', 'p4', 'p5', 'ranked-2v2']);
    });

    it('GET lists pools by id byte-wise, in pages', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await call('GET', `/v1/matchmaker/pools?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json<{ items: Json[]; next_cursor: string | null }>();
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((p) => p.id as string));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, ['casual_eu', 'p3', 'p4', 'p5', 'ranked-2v2']);
      problem(await call('GET', '/v1/matchmaker/pools?limit=0'), 400);
      problem(await call('GET', '/v1/matchmaker/pools?cursor=garbage'), 400);
    });

    it('PATCH changes any rule but the id, checks the result as a whole, and bumps updated_at', async () => {
      const before = (await call('GET', '/v1/matchmaker/pools/p3')).json<Json>();
      const res = await call('PATCH', '/v1/matchmaker/pools/p3', { max_wait_seconds: 600, skill: { window_start: 10, growth_per_second: 0 } });
      assert.equal(res.statusCode, 200, res.body);
      const patched = res.json<Json>();
      assert.equal(patched.max_wait_seconds, 600);
      assert.deepEqual(patched.skill, { window_start: 10, growth_per_second: 0, window_max: null, source: 'ticket', default: 0 });
      assert.equal(patched.team_count, 2, 'untouched rules stay');
      assert.equal(patched.created_at, before.created_at);
      assert.ok(Date.parse(patched.updated_at as string) >= Date.parse(before.updated_at as string));

      // Dropping the teams needs sizes that make sense without them; null clears an optional rule.
      const untiered = await call('PATCH', '/v1/matchmaker/pools/p3', { team_count: null, team_size: null, min_players: 2, max_players: 6, fill_after_seconds: 5 });
      assert.equal(untiered.statusCode, 200, untiered.body);
      assert.equal((untiered.json<Json>()).team_count, null);

      problem(await call('PATCH', '/v1/matchmaker/pools/p3', { id: 'renamed' }), 400);
      problem(await call('PATCH', '/v1/matchmaker/pools/p3', { min_players: 7 }), 400, 'validation');
      problem(await call('PATCH', '/v1/matchmaker/pools/p3', { fleet: 'nope' }), 404);
      problem(await call('PATCH', '/v1/matchmaker/pools/nope', { max_wait_seconds: 60 }), 404);
      const after = (await call('GET', '/v1/matchmaker/pools/p3')).json<Json>();
      assert.equal(after.max_players, 6, 'a refused patch changed nothing');
      assert.equal(after.fleet, 'default');
    });

    it('DELETE is 204, then 404; the id is free again', async () => {
      assert.equal((await call('DELETE', '/v1/matchmaker/pools/p4')).statusCode, 204);
      problem(await call('DELETE', '/v1/matchmaker/pools/p4'), 404);
      problem(await call('GET', '/v1/matchmaker/pools/p4'), 404);
      assert.equal((await call('POST', '/v1/matchmaker/pools', { ...POOL, id: 'p4' })).statusCode, 201);
    });

    it('another project, a publishable key and a player token see and change nothing', async () => {
      const other = await createProject(app, await createTenant(app));
      const sibling = await createProject(app, project.tenantId);
      for (const foreign of [other, sibling]) {
        problem(await call('GET', '/v1/matchmaker/pools/ranked-2v2', undefined, foreign.secretKey), 404);
        problem(await call('PATCH', '/v1/matchmaker/pools/ranked-2v2', { max_wait_seconds: 60 }, foreign.secretKey), 404);
        problem(await call('DELETE', '/v1/matchmaker/pools/ranked-2v2', undefined, foreign.secretKey), 404);
        assert.deepEqual(((await call('GET', '/v1/matchmaker/pools', undefined, foreign.secretKey)).json<{ items: unknown[] }>()).items, []);
        // The same id in another project is another pool.
        assert.equal((await call('POST', '/v1/matchmaker/pools', POOL, foreign.secretKey)).statusCode, 201);
      }
      const player = await createPlayer(app, project);
      for (const credential of [project.publishableKey, player.accessToken]) {
        const res = await call('GET', '/v1/matchmaker/pools', undefined, credential);
        assert.ok(res.statusCode === 401 || res.statusCode === 403, `${res.statusCode} ${res.body}`);
        assert.ok([401, 403].includes((await call('POST', '/v1/matchmaker/pools', { ...POOL, id: 'x' }, credential)).statusCode));
      }
      assert.equal(((await call('GET', '/v1/matchmaker/pools/ranked-2v2')).json<Json>()).max_wait_seconds, 120);
    });
  });
}
