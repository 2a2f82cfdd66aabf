/** Shared set-up of the chat suites: an app listening on a port, projects, named players, sockets and REST helpers. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { CacheBackend } from '../../src/internal/cache/cache.js';
import type { ChatMessage } from '../../src/modules/chat/api.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import type { TestDatabase, TestDatabaseKind } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { Client, connect, realtimeUrl } from '../realtime/helpers.js';
import { assertProblem, json } from '../support/answers.js';

export { assertProblem, json };

/** The request and message budgets are not under test (except where a suite sets them). */
export const UNLIMITED = {
  RATE_LIMIT_PER_MIN: '100000000',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
  AUTH_RATE_LIMIT_PER_MIN: '100000000',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '100000000',
  FRIEND_REQUESTS_PER_HOUR: '1000000',
  CHAT_MESSAGES_PER_MIN: '1000000',
  WS_MAX_CONNECTIONS_PER_PLAYER: '50',
  WS_MESSAGES_PER_SECOND: '10000',
};

export interface Node {
  t: TestApp;
  app: FastifyInstance;
  base: string;
  clients: Client[];
  /** Opens a socket for the player (closed with the suite). */
  open(player: TestPlayer): Promise<Client>;
  close(): Promise<void>;
}

export async function startNode(db: TestDatabase['db'], env: Record<string, string> = {}, cache?: CacheBackend): Promise<Node> {
  const t = await buildTestApp({ db, env: { ...UNLIMITED, ...env }, ...(cache ? { cache } : {}) });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  const base = `http://127.0.0.1:${address.port}`;
  const clients: Client[] = [];
  return {
    t,
    app: t.app,
    base,
    clients,
    async open(player) {
      const client = await connect(realtimeUrl(base, player.accessToken));
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.filter((c) => !c.isClosed).map((c) => c.close()));
      await t.close();
    },
  };
}

export interface Suite {
  database: TestDatabase;
  node: Node;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startSuite(kind: TestDatabaseKind, env: Record<string, string> = {}): Promise<Suite> {
  const database = await kind.create();
  const node = await startNode(database.db, env);
  return {
    database,
    node,
    app: node.app,
    close: async () => {
      await node.close();
      await database.drop();
    },
  };
}

let names = 0;

/** A project and `count` players, each given a username (straight in the table). */
export async function projectWithPlayers(s: { app: FastifyInstance; database: TestDatabase }, count: number, tenantId?: string): Promise<{ project: TestProject; players: TestPlayer[] }> {
  const project = await createProject(s.app, tenantId ?? (await createTenant(s.app)));
  const players: TestPlayer[] = [];
  for (let i = 0; i < count; i++) {
    const player = await createPlayer(s.app, project);
    await s.database.db.operator('test.username', (tx) => tx.query('update players set username = $1 where id = $2', [`chatter_${process.pid}_${++names}`, player.playerId]));
    players.push(player);
  }
  return { project, players };
}

export async function setLimits(app: FastifyInstance, project: TestProject, limits: Record<string, number | null>): Promise<void> {
  const res = await operator(app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { limits });
  assert.equal(res.statusCode, 200, res.body);
}

let ids = 0;
/** Sends an op with a fresh id and answers its reply (ok or error); events stay queued on the client. */
export async function op(client: Client, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = `r${++ids}`;
  client.send({ ...frame, id });
  const index = await waitFor(client, (f) => (f.op === 'ok' || f.op === 'error') && f.id === id, 5_000, `the reply to ${String(frame.op)}`);
  return client.frames.splice(index, 1)[0] as Record<string, unknown>;
}

/** The index in the client's queue of the first frame matching, waiting for it. */
export async function waitFor(client: Client, match: (frame: Record<string, unknown>) => boolean, deadlineMs = 5_000, what = 'a frame'): Promise<number> {
  let index = -1;
  await eventually(() => (index = (client.frames as Record<string, unknown>[]).findIndex(match)) >= 0, deadlineMs, what);
  return index;
}

/** An ok reply's fields (fails on an error frame). */
export async function ok(client: Client, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = await op(client, frame);
  assert.equal(reply.op, 'ok', JSON.stringify(reply));
  return reply;
}

/** An error reply (fails on ok), checked against the code and status. */
export async function refusedOp(client: Client, frame: Record<string, unknown>, code: string, status: number): Promise<Record<string, unknown>> {
  const reply = await op(client, frame);
  assert.equal(reply.op, 'error', JSON.stringify(reply));
  assert.equal(reply.code, code, JSON.stringify(reply));
  assert.equal(reply.status, status, JSON.stringify(reply));
  return reply;
}

export type Frame = Record<string, unknown> & { op: string; seq?: number };

/** The events of one op (e.g. channel.message) the client has received so far, removed from its queue. */
export function take(client: Client, op: string): Frame[] {
  const taken = (client.frames as Frame[]).filter((f) => f.op === op);
  client.frames.splice(0, client.frames.length, ...(client.frames as Frame[]).filter((f) => f.op !== op));
  return taken;
}

/** The message events of a channel the client has received (not removed). */
export function messagesOf(client: Client, channel?: string): ChatMessage[] {
  return (client.frames as Frame[])
    .filter((f) => f.op === 'channel.message')
    .map((f) => f.message as ChatMessage)
    .filter((m) => channel === undefined || m.channel === channel);
}

export function history(app: FastifyInstance, credential: string, channel: string, query = '') {
  return app.inject({ method: 'GET', url: `/v1/channels/${encodeURIComponent(channel)}/messages${query}`, headers: bearer(credential) });
}

export function removeMessage(app: FastifyInstance, credential: string, channel: string, seq: number | string) {
  return app.inject({ method: 'DELETE', url: `/v1/channels/${encodeURIComponent(channel)}/messages/${seq}`, headers: bearer(credential) });
}


export const dmOf = (a: TestPlayer, b: TestPlayer) => (a.playerId < b.playerId ? `dm:${a.playerId}:${b.playerId}` : `dm:${b.playerId}:${a.playerId}`);

export { Client };
