/** Shared set-up of the social suites: an app on one database, projects, players and request helpers. */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
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
  FRIEND_REQUESTS_PER_HOUR: '1000000',
};

export interface RelationJson {
  player: { id: string; username: string | null };
  state: string;
  updated_at: string;
  presence: unknown;
}

export interface PageJson {
  items: RelationJson[];
  next_cursor: string | null;
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

let names = 0;

/** A project and `count` device players, each given a username (straight in the table: no password hashing). */
export async function projectWithPlayers(s: Suite, count: number, tenantId?: string): Promise<{ project: TestProject; players: TestPlayer[] }> {
  const project = await createProject(s.app, tenantId ?? (await createTenant(s.app)));
  const players: TestPlayer[] = [];
  for (let i = 0; i < count; i++) {
    const player = await createPlayer(s.app, project);
    await setUsername(s, player, `Player_${process.pid}_${++names}`);
    players.push(player);
  }
  return { project, players };
}

export async function setUsername(s: Suite, player: TestPlayer, username: string | null): Promise<void> {
  await s.database.db.operator('test.username', (tx) => tx.query('update players set username = $1 where id = $2', [username, player.playerId]));
}

export async function usernameOf(s: Suite, playerId: string): Promise<string | null> {
  const [row] = await s.database.db.operator('test.username', (tx) => tx.query<{ username: string | null }>('select username from players where id = $1', [playerId]));
  return row?.username ?? null;
}

type Method = 'GET' | 'POST' | 'DELETE';

export function call(app: FastifyInstance, method: Method, url: string, credential: string, payload?: unknown) {
  return app.inject({ method, url, headers: bearer(credential), ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** The friend routes, for a player's token (or a credential with a `?player_id=` query appended to the url). */
export const friends = (app: FastifyInstance) => ({
  request: (credential: string, body: unknown, query = '') => call(app, 'POST', `/v1/friends/requests${query}`, credential, body),
  accept: (credential: string, other: string, query = '') => call(app, 'POST', `/v1/friends/${other}/accept${query}`, credential),
  decline: (credential: string, other: string, query = '') => call(app, 'POST', `/v1/friends/${other}/decline${query}`, credential),
  remove: (credential: string, other: string, query = '') => call(app, 'DELETE', `/v1/friends/${other}${query}`, credential),
  block: (credential: string, other: string, query = '') => call(app, 'POST', `/v1/friends/${other}/block${query}`, credential),
  unblock: (credential: string, other: string, query = '') => call(app, 'DELETE', `/v1/friends/${other}/block${query}`, credential),
  get: (credential: string, other: string, query = '') => call(app, 'GET', `/v1/friends/${other}${query}`, credential),
  list: (credential: string, query = '') => call(app, 'GET', `/v1/friends${query}`, credential),
});


/** A problem without what differs between any two answers (the request id). */
export const sameness = (res: LightMyRequestResponse) => {
  const { request_id: _id, ...rest } = res.json<Record<string, unknown>>();
  return { status: res.statusCode, ...rest };
};

/** Every relation of a player, every page followed. */
export async function listAll(app: FastifyInstance, credential: string, query = ''): Promise<RelationJson[]> {
  const items: RelationJson[] = [];
  let cursor: string | null = null;
  do {
    const res = await friends(app).list(credential, `?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`);
    const page = json<PageJson>(res);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** The project's relation rows straight from the table (operator path, no RLS): [player, other, state]. */
export async function storedRows(s: Suite, projectId: string): Promise<[string, string, string][]> {
  const rows = await s.database.db.operator('test.rows', (tx) =>
    tx.query<{ player_id: string; other_id: string; state: string }>(
      'select player_id::text as player_id, other_id::text as other_id, state from friend_relations where project_id = $1 order by 1, 2',
      [projectId],
    ),
  );
  return rows.map((row) => [String(row.player_id), String(row.other_id), row.state]);
}

/** A player's ggscale notifications, oldest first: [code, content, sender]. */
export async function notificationsOf(s: Suite, player: TestPlayer): Promise<{ code: string; content: Record<string, unknown>; sender_id: string | null; subject: string }[]> {
  const res = await call(s.app, 'GET', '/v1/notifications?limit=100', player.accessToken);
  return json<{ items: { code: string; content: Record<string, unknown>; sender_id: string | null; subject: string }[] }>(res).items;
}

/** Makes two players friends (a asks, b accepts). */
export async function befriend(app: FastifyInstance, a: TestPlayer, b: TestPlayer): Promise<void> {
  json(await friends(app).request(a.accessToken, { player_id: b.playerId }), 201);
  json(await friends(app).accept(b.accessToken, a.playerId));
}
