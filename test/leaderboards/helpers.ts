/** Shared set-up of the leaderboard HTTP suites: a project, its players and small request helpers. */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { bearer, createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface Caller {
  /** The bearer credential: a secret key or a player's access token. */
  credential: string;
}

export interface Scores {
  items: { rank: number; player_id: string; username: string | null; score: number | string; subscore: number | string; metadata: Record<string, unknown>; updated_at: string }[];
  next_cursor: string | null;
}

export function client(app: FastifyInstance) {
  const call = (method: Method, url: string, credential: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { ...bearer(credential), ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return {
    call,
    createBoard: (project: TestProject, body: Record<string, unknown>) => call('POST', '/v1/leaderboards', project.secretKey, body),
    submit: (credential: string, board: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      call('POST', `/v1/leaderboards/${board}/scores`, credential, body, headers),
    scores: (credential: string, board: string, query = '') => call('GET', `/v1/leaderboards/${board}/scores${query}`, credential),
    record: (credential: string, board: string, player: string, query = '') => call('GET', `/v1/leaderboards/${board}/scores/${player}${query}`, credential),
  };
}

/** A board created with the project's secret key (201 asserted). */
export async function newBoard(app: FastifyInstance, project: TestProject, body: Record<string, unknown>): Promise<string> {
  const res = await client(app).createBoard(project, body);
  assert.equal(res.statusCode, 201, res.body);
  return String(body.id);
}

export async function projectWithPlayers(app: FastifyInstance, count: number, tenantId?: string): Promise<{ project: TestProject; players: TestPlayer[] }> {
  const project = await createProject(app, tenantId ?? (await createTenant(app)));
  const players: TestPlayer[] = [];
  for (let i = 0; i < count; i++) players.push(await createPlayer(app, project));
  return { project, players };
}

export function json<T>(res: LightMyRequestResponse, status = 200): T {
  assert.equal(res.statusCode, status, res.body);
  return res.json<T>();
}

export function assertProblem(res: LightMyRequestResponse, status: number, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/, what);
}

let boardCounter = 0;
export const boardId = (label: string) => `${label}-${process.pid}-${++boardCounter}`;

/** The rank indexes the HTTP suites run over: memory always, Redis too when REDIS_URL is set (own key prefix). */
export function indexKinds(): { name: string; env: Record<string, string> }[] {
  const kinds: { name: string; env: Record<string, string> }[] = [{ name: 'memory index', env: {} }];
  const url = process.env.REDIS_URL;
  if (url) {
    const prefix = `ggscale-test-${process.pid}-${Math.random().toString(16).slice(2, 10)}:`;
    kinds.push({ name: 'redis index', env: { CACHE_BACKEND: 'redis', REDIS_URL: url, LEADERBOARD_REDIS_KEY_PREFIX: prefix } });
  }
  return kinds;
}

/** Deletes the Redis keys a suite's index made (nothing for the memory index). */
export async function dropIndexKeys(env: Record<string, string>): Promise<void> {
  const prefix = env.LEADERBOARD_REDIS_KEY_PREFIX;
  if (!prefix || !env.REDIS_URL) return;
  const { Redis } = await import('ioredis');
  const redis = new Redis(env.REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}
