/** Shared set-up of the notifications suites: an app on one database, projects, players and request helpers. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Notification } from '../../src/modules/notifications/api.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import type { TestDatabase, TestDatabaseKind } from '../support/db.js';
import { bearer, createPlayer, createProject, createTenant, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { assertProblem, json } from '../support/answers.js';

export { assertProblem, json };

/** The request budgets are not under test here: lifted so suites can make many calls. */
export const UNLIMITED = {
  RATE_LIMIT_PER_MIN: '100000000',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
  AUTH_RATE_LIMIT_PER_MIN: '100000000',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '100000000',
};

/** A notification as the API returns it (the module's own type). */
export type NotificationJson = Notification;

export interface PageJson {
  items: NotificationJson[];
  next_cursor: string | null;
  cacheable_cursor: string;
}

export interface SendJson {
  items: { player_id: string; id: string }[];
}

export interface Suite {
  database: TestDatabase;
  t: TestApp;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startSuite(kind: TestDatabaseKind, env: Record<string, string> = {}): Promise<Suite> {
  const database = await kind.create();
  const t = await buildTestApp({ db: database.db, env: { ...UNLIMITED, ...env } });
  return {
    database,
    t,
    app: t.app,
    close: async () => {
      await t.close();
      await database.drop();
    },
  };
}

export async function projectWithPlayers(app: FastifyInstance, count: number, tenantId?: string): Promise<{ project: TestProject; players: TestPlayer[] }> {
  const project = await createProject(app, tenantId ?? (await createTenant(app)));
  const players: TestPlayer[] = [];
  for (let i = 0; i < count; i++) players.push(await createPlayer(app, project));
  return { project, players };
}

export function send(app: FastifyInstance, credential: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/notifications', headers: { ...bearer(credential), ...headers }, payload: body as object });
}

export function list(app: FastifyInstance, credential: string, query = '') {
  return app.inject({ method: 'GET', url: `/v1/notifications${query}`, headers: bearer(credential) });
}

export function remove(app: FastifyInstance, credential: string, id: string, query = '') {
  return app.inject({ method: 'DELETE', url: `/v1/notifications/${id}${query}`, headers: bearer(credential) });
}

/** A send that must succeed: its answer. */
export async function sent(app: FastifyInstance, project: TestProject, body: Record<string, unknown>): Promise<SendJson> {
  const res = await send(app, project.secretKey, { code: 'test.code', subject: 'Hello', content: {}, ...body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<SendJson>();
}

/** Everything a player has stored, every page followed. */
export async function listAll(app: FastifyInstance, player: TestPlayer): Promise<NotificationJson[]> {
  const items: NotificationJson[] = [];
  let cursor: string | null = null;
  do {
    const res = await list(app, player.accessToken, `?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    const page = json<PageJson>(res);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}


/** Counts a project's stored notifications straight from the table (operator path, no RLS). */
export async function storedCount(database: TestDatabase, projectId: string): Promise<number> {
  const [row] = await database.db.operator('test.count', (tx) =>
    tx.query<{ n: number }>('select count(*)::int as n from notifications where project_id = $1', [projectId]),
  );
  return Number(row?.n ?? 0);
}
