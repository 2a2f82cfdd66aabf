/**
 * The data the bad-input fuzzer runs against, made through the public API the way a studio would: tenant A
 * with the project whose credentials the fuzzer holds ("main") and a project the operator may wreck
 * ("target"); tenant B ("other") whose rows must come out of the run unchanged. Valid-looking ids in fuzzed
 * requests are drawn from here, so they hit real rows, including B's.
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Database } from '../../../src/internal/db/database.js';
import { TINY_GAME_SERVER } from '../../fleet/helpers.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestPlayer, type TestProject } from '../../support/tenancy.js';
import { METERING_TABLES } from './isolation-oracle.js';

export interface SeededProject extends TestProject {
  players: TestPlayer[];
  keyIds: string[];
  deviceIds: string[];
  boards: string[];
  objectVersions: string[];
  fleets: string[];
  allocations: string[];
}

export interface FuzzWorld {
  main: SeededProject;
  target: SeededProject;
  other: SeededProject;
  /** Refresh tokens of players whose sessions the fuzzer may burn (never the ones it calls with). */
  refreshTokens: string[];
  email: { address: string; password: string };
}

const BOARDS = [
  { id: 'fuzz-best', sort: 'desc', operator: 'best' },
  { id: 'fuzz-incr', sort: 'asc', operator: 'incr', metadata: { season: 1 } },
  { id: 'fuzz-authoritative', sort: 'desc', operator: 'set', authoritative: true },
];
export const COLLECTIONS = ['saves', 'public'];
export const OBJECT_KEYS = ['slot-1', 'slot.2'];
export const FUZZ_FLEET = 'fuzz-fleet';

async function ok(response: Promise<LightMyRequestResponse>, statuses: number[], what: string): Promise<LightMyRequestResponse> {
  const res = await response;
  assert.ok(statuses.includes(res.statusCode), `${what}: ${res.statusCode} ${res.body}`);
  return res;
}

/**
 * Boards, scores and objects of a project; idempotent, so it also restores what a fuzzed DELETE removed.
 * `racing`: other fuzzed requests run meanwhile and may delete a board again between its creation and a
 * score, so a 404 there is expected.
 */
export async function reseed(app: FastifyInstance, project: SeededProject, racing = false): Promise<void> {
  const secret = bearer(project.secretKey);
  for (const board of BOARDS) {
    await ok(app.inject({ method: 'POST', url: '/v1/leaderboards', headers: secret, payload: board }), [201, 409], `board ${board.id}`);
  }
  for (const [i, player] of project.players.entries()) {
    for (const board of BOARDS) {
      const payload = { player_id: player.playerId, score: 100 + i, metadata: { seeded: true } };
      await ok(app.inject({ method: 'POST', url: `/v1/leaderboards/${board.id}/scores`, headers: secret, payload }), racing ? [200, 404] : [200], `score on ${board.id}`);
    }
  }
  project.objectVersions = [];
  for (const collection of COLLECTIONS) {
    for (const key of OBJECT_KEYS) {
      const acl = collection === 'public' ? '?acl=public-read' : '';
      const owners = ['', ...project.players.slice(0, 2).map((p) => `owner=${p.playerId}`)];
      for (const owner of owners) {
        const query = [acl.slice(1), owner].filter(Boolean).join('&');
        const url = `/v1/storage/${collection}/${key}${query ? `?${query}` : ''}`;
        const res = await ok(
          app.inject({ method: 'PUT', url, headers: { ...secret, 'content-type': 'application/json' }, payload: '{"seeded":true}' }),
          [200, 201],
          `object ${url}`,
        );
        project.objectVersions.push(res.json<{ version: string }>().version);
      }
    }
  }
}

async function seedProject(app: FastifyInstance, tenantId: string, name: string, withAllocation: boolean): Promise<SeededProject> {
  const base = await createProject(app, tenantId, name);
  const deviceIds = [0, 1, 2].map((i) => `fuzz-${name}-device-${i}-0123456789`);
  const players: TestPlayer[] = [];
  for (const deviceId of deviceIds) players.push(await createPlayer(app, base, deviceId));
  const keys = await ok(operator(app, 'GET', `/v1/admin/projects/${base.projectId}/api-keys`), [200], 'list keys');
  const project: SeededProject = {
    ...base,
    players,
    deviceIds,
    keyIds: keys.json<{ items: Array<{ id: string }> }>().items.map((k) => k.id),
    boards: BOARDS.map((b) => b.id),
    objectVersions: [],
    fleets: ['default', FUZZ_FLEET],
    allocations: [],
  };
  await ok(
    operator(app, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, { name: FUZZ_FLEET, backend: 'local', command: TINY_GAME_SERVER, max_allocations: 3 }),
    [201],
    'register fleet',
  );
  await reseed(app, project);
  if (withAllocation) {
    const res = await ok(
      app.inject({ method: 'POST', url: '/v1/fleet/allocations', headers: bearer(project.secretKey), payload: { fleet: FUZZ_FLEET } }),
      [201],
      'allocation',
    );
    project.allocations.push(res.json<{ id: string }>().id);
  }
  return project;
}

export async function seedWorld(app: FastifyInstance): Promise<FuzzWorld> {
  const tenantA = await createTenant(app, `fuzz-a-${process.pid}`);
  const tenantB = await createTenant(app, `fuzz-b-${process.pid}`);
  const main = await seedProject(app, tenantA, 'main', true);
  const target = await seedProject(app, tenantA, 'target', false);
  const other = await seedProject(app, tenantB, 'other', true);

  const email = { address: `fuzz-${process.pid}@example.test`, password: 'correct horse battery staple' };
  await ok(
    app.inject({ method: 'POST', url: '/v1/auth/signup', headers: bearer(main.publishableKey), payload: { email: email.address, password: email.password } }),
    [201],
    'email player',
  );
  const refreshTokens: string[] = [];
  for (let i = 0; i < 4; i++) refreshTokens.push((await createPlayer(app, main, `fuzz-refresh-${i}-0123456789`)).refreshToken);
  refreshTokens.push((await createPlayer(app, other, 'fuzz-refresh-other-0123456789')).refreshToken);
  return { main, target, other, refreshTokens, email };
}

/**
 * Every row of one tenant, table by table, as the owner role sees it (RLS bypassed on purpose: this is the
 * referee, not the code under test). Tables come from the catalog, so a new tenant table is included.
 */
export async function tenantSnapshot(db: Database, tenantId: string): Promise<Record<string, string[]>> {
  return db.operator('fuzz snapshot', async (tx) => {
    const tables = await tx.query<{ name: string }>(`
      select c.relname as name from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
       where c.relkind in ('r', 'p') order by c.relname`);
    const snapshot: Record<string, string[]> = {};
    for (const { name } of tables) {
      if (METERING_TABLES.has(name)) continue;
      const rows = await tx.query<{ row: string }>(`select t::text as row from "${name}" t where tenant_id = $1`, [tenantId]);
      snapshot[name] = rows.map((r) => r.row).sort();
    }
    return snapshot;
  });
}
