/**
 * The seeded world of the tenant-isolation fuzzer: tenant A (projects A1, A2) and tenant B (project B1),
 * each project holding one of everything the API stores, seeded through the public API the way a studio
 * would. Every value a victim must never see leaves its project is a unique marker (`mk…`), so a leak is
 * recognisable in any response body or header, whatever route it comes from.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { bearer, createPlayer, createProject, operator, type TestProject } from '../../support/tenancy.js';
import { TINY_GAME_SERVER } from '../../fleet/helpers.js';
import { connect, realtimeUrl } from '../../realtime/helpers.js';

/** A fresh marker: lowercase letters and digits only, so it fits every name pattern of the API. */
export const marker = (label: string) => `mk${label}${randomBytes(6).toString('hex')}`;

/** Names every project uses for its own data, so name-addressed routes land on the caller's own rows. */
export interface SharedNames {
  board: string;
  collection: string;
  key: string;
  publicKey: string;
  fleet: string;
  scoreIdempotencyKey: string;
  /** A chat room every project talks in (room:<room>). */
  room: string;
  /** A matchmaker pool id every project has. */
  pool: string;
}

export function sharedNames(): SharedNames {
  return {
    board: marker('shared-board'),
    collection: marker('shared-coll'),
    key: marker('shared-key'),
    publicKey: marker('shared-pub'),
    fleet: marker('shared-fleet'),
    scoreIdempotencyKey: marker('shared-idem'),
    room: marker('shared-room'),
    pool: marker('shared-pool').toLowerCase(),
  };
}

export interface SeededPlayer {
  id: string;
  accessToken: string;
  refreshToken: string;
  email?: string;
  username?: string;
  password?: string;
  deviceId?: string;
  /** A refresh token already exchanged (still inside the reuse grace window). */
  usedRefreshToken?: string;
}

export interface ProjectWorld {
  label: string;
  project: TestProject;
  tenantName: string;
  projectName: string;
  /** Every API key id of the project (the seeded pair, a named extra key, a revoked key). */
  keyIds: string[];
  /** alice: email + password + username; bob: a device player (the attacker's token); carol: banned. */
  alice: SeededPlayer;
  bob: SeededPlayer;
  carol: SeededPlayer;
  playerIds: string[];
  /** Names only this project uses. */
  names: { board: string; authoritativeBoard: string; collection: string; key: string; secondKey: string; publicKey: string; fleet: string; pool: string };
  objectVersions: string[];
  allocationIds: string[];
  gameServers: string[];
  allocationIdempotencyKey: string;
  /** Notifications the project's secret key sent alice (marked subject and content). */
  notificationIds: string[];
  /** Chat: alice's dm with bob (canonical) and the seqs of the messages in it and in the shared room. */
  chat: { dm: string; seqs: number[] };
  /** The party alice leads (its label is marked). */
  partyId: string;
  /** Alice's searching ticket in the shared-name pool (a marked property). */
  ticketId: string;
  /** Real cursors this project got from its own listings. */
  cursors: { storage: string; boards: string; scores: string; allocations: string; fleets: string };
  /** Values that identify this project's data: none may reach another project's caller. */
  secrets: string[];
}

const ok = (res: LightMyRequestResponse, status: number | number[], what: string) => {
  const expected = Array.isArray(status) ? status : [status];
  assert.ok(expected.includes(res.statusCode), `seeding ${what}: ${res.statusCode} ${res.body}`);
  return res;
};

async function signup(app: FastifyInstance, project: TestProject, label: string): Promise<SeededPlayer> {
  const email = `${marker(label)}@example.test`;
  const username = marker(label);
  const password = `pw-${marker(label)}`;
  const res = ok(
    await app.inject({ method: 'POST', url: '/v1/auth/signup', headers: bearer(project.publishableKey), payload: { email, password, username } }),
    201,
    'signup',
  );
  const body = res.json<{ player: { id: string }; access_token: string; refresh_token: string }>();
  return { id: body.player.id, accessToken: body.access_token, refreshToken: body.refresh_token, email, username, password };
}

async function refresh(app: FastifyInstance, project: TestProject, player: SeededPlayer): Promise<SeededPlayer> {
  const res = ok(
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: bearer(project.publishableKey), payload: { refresh_token: player.refreshToken } }),
    200,
    'refresh',
  );
  const body = res.json<{ access_token: string; refresh_token: string }>();
  return { ...player, usedRefreshToken: player.refreshToken, accessToken: body.access_token, refreshToken: body.refresh_token };
}

async function devicePlayer(app: FastifyInstance, project: TestProject, label: string): Promise<SeededPlayer> {
  const deviceId = `dev-${marker(label)}-0123456789`;
  const player = await createPlayer(app, project, deviceId);
  return { id: player.playerId, accessToken: player.accessToken, refreshToken: player.refreshToken, deviceId };
}

async function put(app: FastifyInstance, credential: string, path: string, body: string, contentType: string, versions: string[]): Promise<void> {
  const res = ok(
    await app.inject({ method: 'PUT', url: `/v1/storage/${path}`, headers: { ...bearer(credential), 'content-type': contentType }, payload: body }),
    [200, 201],
    `PUT ${path}`,
  );
  versions.push(res.json<{ version: string }>().version);
}

const cursorOf = (res: LightMyRequestResponse, what: string): string => {
  const cursor = res.json<{ next_cursor: string | null }>().next_cursor;
  assert.ok(cursor, `seeding ${what}: expected a next_cursor, got ${res.body}`);
  return cursor;
};

/** Seeds one project of `tenantId` with one of everything; `label` (a1, a2, b1) prefixes its markers. */
export async function seedProject(app: FastifyInstance, tenantId: string, tenantName: string, label: string, shared: SharedNames): Promise<ProjectWorld> {
  const secrets: string[] = [tenantName];
  const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, credential: string, payload?: object, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { ...bearer(credential), ...headers }, ...(payload ? { payload } : {}) });

  const projectName = marker(label);
  const project = await createProject(app, tenantId, projectName);
  secrets.push(projectName, project.publishableKey, project.secretKey);
  const keyIds = (await operator(app, 'GET', `/v1/admin/projects/${project.projectId}/api-keys`)).json<{ items: { id: string }[] }>().items.map((k) => k.id);
  for (const revoke of [false, true]) {
    const name = marker(label);
    const res = ok(await operator(app, 'POST', `/v1/admin/projects/${project.projectId}/api-keys`, { kind: 'secret', name }), 201, 'api key');
    const key = res.json<{ id: string; key: string }>();
    keyIds.push(key.id);
    secrets.push(name, key.key);
    if (revoke) ok(await operator(app, 'DELETE', `/v1/admin/api-keys/${key.id}`), 204, 'revoke key');
  }
  const origin = `https://${marker(label)}.example`;
  secrets.push(origin);
  ok(
    await operator(app, 'PATCH', `/v1/admin/projects/${project.projectId}`, { cors_origins: [origin], limits: { rate_limit_per_min: 100_000_000, friend_requests_per_hour: 1_000_000 } }),
    200,
    'settings',
  );

  // Players: alice signs up (two sessions, one refresh token already exchanged), bob is a device player,
  // carol is banned once she has a score.
  let alice = await signup(app, project, label);
  alice = await refresh(app, project, alice);
  ok(await inject('POST', '/v1/auth/login', project.publishableKey, { email: alice.email, password: alice.password }), 200, 'login');
  const bob = await devicePlayer(app, project, label);
  const carol = await devicePlayer(app, project, label);
  for (const player of [alice, bob, carol]) {
    secrets.push(player.accessToken, player.refreshToken);
    for (const value of [player.email, player.username, player.password, player.deviceId, player.usedRefreshToken]) if (value) secrets.push(value);
  }

  // Storage: player-owned and project-owned, private and public-read, under own and shared names.
  const names = {
    board: marker(label),
    authoritativeBoard: marker(label),
    collection: marker(label),
    key: marker(label),
    secondKey: marker(label),
    publicKey: marker(label),
    fleet: marker(label),
    pool: marker(label).toLowerCase(),
  };
  const objectVersions: string[] = [];
  const body = () => {
    const value = `body-${marker(label)}`;
    secrets.push(value);
    return value;
  };
  const contentType = `application/x-${marker(label)}`;
  secrets.push(contentType.slice('application/x-'.length));
  await put(app, alice.accessToken, `${names.collection}/${names.key}`, body(), contentType, objectVersions);
  await put(app, alice.accessToken, `${names.collection}/${names.secondKey}`, body(), contentType, objectVersions);
  await put(app, alice.accessToken, `${shared.collection}/${shared.key}`, body(), contentType, objectVersions);
  await put(app, project.secretKey, `${names.collection}/${names.key}`, body(), contentType, objectVersions);
  await put(app, project.secretKey, `${names.collection}/${names.publicKey}?acl=public-read`, body(), contentType, objectVersions);
  await put(app, project.secretKey, `${shared.collection}/${shared.publicKey}?owner=${alice.id}&acl=public-read`, body(), contentType, objectVersions);
  secrets.push(...objectVersions);
  const storageCursor = cursorOf(ok(await inject('GET', `/v1/storage/${names.collection}?limit=1`, alice.accessToken), 200, 'storage list'), 'storage list');

  // Leaderboards: a private and a shared-name board, an authoritative one with a (yearly) reset, scores
  // with metadata from every player, one submit under an Idempotency-Key.
  const meta = () => {
    const value = marker(label);
    secrets.push(value);
    return { note: value };
  };
  ok(await inject('POST', '/v1/leaderboards', project.secretKey, { id: names.board, sort: 'desc', operator: 'best', metadata: meta() }), 201, 'board');
  ok(await inject('POST', '/v1/leaderboards', project.secretKey, { id: shared.board, sort: 'desc', operator: 'best', metadata: meta() }), 201, 'shared board');
  ok(
    await inject('POST', '/v1/leaderboards', project.secretKey, {
      id: names.authoritativeBoard,
      sort: 'asc',
      operator: 'set',
      authoritative: true,
      reset_cron: '0 0 1 1 *',
      metadata: meta(),
    }),
    201,
    'authoritative board',
  );
  for (const board of [names.board, shared.board]) {
    for (const [i, player] of [alice, bob, carol].entries()) {
      ok(await inject('POST', `/v1/leaderboards/${board}/scores`, player.accessToken, { score: 100 + i, metadata: meta() }), 200, 'score');
    }
  }
  ok(await inject('POST', `/v1/leaderboards/${names.authoritativeBoard}/scores`, project.secretKey, { player_id: alice.id, score: 5, metadata: meta() }), 200, 'authoritative score');
  ok(
    await inject('POST', `/v1/leaderboards/${shared.board}/scores`, project.secretKey, { player_id: bob.id, score: 7 }, { 'idempotency-key': shared.scoreIdempotencyKey }),
    200,
    'idempotent score',
  );
  const boardsCursor = cursorOf(ok(await inject('GET', '/v1/leaderboards?limit=1', project.secretKey), 200, 'boards list'), 'boards list');
  const scoresCursor = cursorOf(ok(await inject('GET', `/v1/leaderboards/${names.board}/scores?limit=1`, project.secretKey), 200, 'scores list'), 'scores list');

  // Fleets: a shared-name fleet with a live allocation (under an Idempotency-Key) and a released one, and a
  // private fleet with marked labels. Tiny game servers start in ~50 ms.
  const fleetLabel = marker(label);
  secrets.push(names.fleet, fleetLabel);
  ok(
    await operator(app, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, { name: shared.fleet, backend: 'local', command: TINY_GAME_SERVER, max_allocations: 2 }),
    201,
    'shared fleet',
  );
  ok(
    await operator(app, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, {
      name: names.fleet,
      backend: 'local',
      command: TINY_GAME_SERVER,
      max_allocations: 1,
      labels: { note: fleetLabel },
    }),
    201,
    'private fleet',
  );
  const allocationIdempotencyKey = marker(label);
  secrets.push(allocationIdempotencyKey);
  const allocationIds: string[] = [];
  const gameServers: string[] = [];
  const allocateOne = async (payload: object, headers: Record<string, string> = {}) => {
    const res = ok(await inject('POST', '/v1/fleet/allocations', project.secretKey, payload, headers), 201, 'allocation');
    const allocation = res.json<{ id: string; game_server: string }>();
    allocationIds.push(allocation.id);
    gameServers.push(allocation.game_server);
    return allocation.id;
  };
  const annotation = marker(label);
  secrets.push(annotation);
  const released = await allocateOne({ fleet: shared.fleet, metadata: { labels: { note: annotation }, annotations: { note: annotation } } });
  ok(await inject('DELETE', `/v1/fleet/allocations/${released}`, project.secretKey), 204, 'release');
  await allocateOne({ fleet: shared.fleet }, { 'idempotency-key': allocationIdempotencyKey });
  secrets.push(...gameServers);
  const allocationsCursor = cursorOf(ok(await inject('GET', '/v1/fleet/allocations?limit=1', project.secretKey), 200, 'allocations list'), 'allocations list');
  const fleetsCursor = cursorOf(ok(await inject('GET', '/v1/fleet/fleets?limit=1', project.secretKey), 200, 'fleets list'), 'fleets list');

  ok(await operator(app, 'POST', `/v1/admin/projects/${project.projectId}/players/${carol.id}/ban`), 204, 'ban');

  // Notifications: one of alice's, with a marked subject, content and collapse key.
  const [notificationSubject, notificationContent, collapseKey] = [marker(label), marker(label), marker(label)];
  secrets.push(notificationSubject, notificationContent, collapseKey);
  const sentNotification = ok(
    await inject('POST', '/v1/notifications', project.secretKey, {
      player_ids: [alice.id],
      code: 'isolation.seed',
      subject: notificationSubject,
      content: { note: notificationContent },
      collapse_key: collapseKey,
    }),
    201,
    'notification',
  );
  const notificationIds = sentNotification.json<{ items: { id: string }[] }>().items.map((item) => item.id);

  // Social graph: alice and bob are friends (a request and its accept), and alice blocked carol.
  ok(await inject('POST', '/v1/friends/requests', alice.accessToken, { player_id: bob.id }), 201, 'friend request');
  ok(await inject('POST', `/v1/friends/${alice.id}/accept`, bob.accessToken), 200, 'friend accept');
  ok(await inject('POST', `/v1/friends/${carol.id}/block?player_id=${alice.id}`, project.secretKey), 200, 'block');

  // Chat: alice says marked things in the shared room and in her dm with bob (over the socket, as a game does).
  const { chat, partyId } = await seedRealtime(app, alice, bob, shared.room, label, secrets);

  // Matchmaker: a shared-name pool and a private one (marked labels), and alice's searching ticket in the
  // first (a marked property); alone, it never matches.
  const [poolLabel, ticketNote] = [marker(label), marker(label)];
  secrets.push(poolLabel, ticketNote);
  const poolRules = { min_players: 2, max_players: 2, skill: { window_start: 10, growth_per_second: 0 }, max_wait_seconds: 3600 };
  ok(await inject('POST', '/v1/matchmaker/pools', project.secretKey, { id: shared.pool, fleet: shared.fleet, ...poolRules }), 201, 'shared pool');
  ok(await inject('POST', '/v1/matchmaker/pools', project.secretKey, { id: names.pool, fleet: names.fleet, ...poolRules, allocation_labels: { note: poolLabel } }), 201, 'pool');
  const ticketId = ok(
    await inject('POST', '/v1/matchmaker/tickets', alice.accessToken, { pool: shared.pool, skill: 1, regions: ['eu'], properties: { note: ticketNote } }),
    201,
    'ticket',
  ).json<{ id: string }>().id;

  // Names only this project uses are secrets too (an attacker that names them itself may see them echoed).
  secrets.push(names.pool, names.board, names.authoritativeBoard, names.collection, names.key, names.secondKey, names.publicKey);
  return {
    label,
    project,
    tenantName,
    projectName,
    keyIds,
    alice,
    bob,
    carol,
    playerIds: [alice.id, bob.id, carol.id],
    names,
    objectVersions,
    allocationIds,
    gameServers,
    allocationIdempotencyKey,
    notificationIds,
    chat,
    partyId,
    ticketId,
    cursors: { storage: storageCursor, boards: boardsCursor, scores: scoresCursor, allocations: allocationsCursor, fleets: fleetsCursor },
    secrets,
  };
}

/**
 * Alice joins room:<room> and her dm with bob, sends a marked text and marked data to each, and creates a
 * party with a marked label (kept while the fuzz runs: the suite sets a long disconnect grace).
 */
async function seedRealtime(
  app: FastifyInstance,
  alice: SeededPlayer,
  bob: SeededPlayer,
  room: string,
  label: string,
  secrets: string[],
): Promise<{ chat: ProjectWorld['chat']; partyId: string }> {
  const address = app.server.address();
  assert.ok(address && typeof address === 'object', 'the app listens before the world is seeded');
  const client = await connect(realtimeUrl(`http://127.0.0.1:${address.port}`, alice.accessToken));
  let id = 0;
  const request = async (frame: Record<string, unknown>) => {
    const want = `seed-${++id}`;
    client.send({ ...frame, id: want });
    for (;;) {
      const reply = await client.next(5_000);
      if (reply.id !== want) continue;
      assert.equal(reply.op, 'ok', `seeding chat: ${JSON.stringify(reply)}`);
      return reply;
    }
  };
  const dm = alice.id < bob.id ? `dm:${alice.id}:${bob.id}` : `dm:${bob.id}:${alice.id}`;
  const seqs: number[] = [];
  for (const channel of [`room:${room}`, dm]) {
    await request({ op: 'channel.join', channel });
    const [text, data] = [marker(label), marker(label)];
    secrets.push(text, data);
    seqs.push((await request({ op: 'channel.send', channel, text })).seq as number);
    seqs.push((await request({ op: 'channel.send', channel, data: { note: data } })).seq as number);
  }
  const partyLabel = marker(label);
  secrets.push(partyLabel);
  const party = (await request({ op: 'party.create', label: partyLabel })).party as { id: string };
  secrets.push(party.id);
  await client.close();
  return { chat: { dm, seqs: [...new Set(seqs)] }, partyId: party.id };
}
