/**
 * How the isolation fuzzer drives each operation of the OpenAPI document: for one attacker credential,
 * the requests aimed at the victim's ids, names, keys and cursors (in path, query and body), alone and
 * mixed with the attacker's own. The test fails for an operation of the document that has no driver here,
 * so a new route cannot escape the fuzzer.
 *
 * Order matters a little: logins run before signups (so the attacker's project does not yet hold the
 * victim's email), and destructive operations run last.
 */
import type { HTTPMethods, LightMyRequestResponse } from 'fastify';
import type { ProjectWorld, SharedNames } from './isolation-world.js';

export type CredentialKind = 'publishable' | 'secret' | 'player';

export interface AttackContext {
  cred: CredentialKind;
  attacker: ProjectWorld;
  victim: ProjectWorld;
  shared: SharedNames;
  /** True the first time this attacker uses `key` (for "a name the victim holds must not look taken"). */
  firstUse(key: string): boolean;
}

export interface Variant {
  url: string;
  payload?: object | string;
  headers?: Record<string, string>;
  /** header (default): the credential as Authorization; none: no Authorization; fresh-player: a new player of the attacker. */
  auth?: 'header' | 'none' | 'fresh-player';
  /** An extra expectation: a message when it does not hold. */
  expect?: (res: LightMyRequestResponse) => string | undefined;
}

export interface Driver {
  method: HTTPMethods;
  /** The OpenAPI path template (checked against the document). */
  path: string;
  variants(ctx: AttackContext): Variant[];
}

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A value no seeded row has: far-away ids and a byte Postgres text cannot hold. */
const FAR_ID = '999999999999999999';
const SCORE = 4242;

const status =
  (...codes: number[]) =>
  (res: LightMyRequestResponse) =>
    codes.includes(res.statusCode) ? undefined : `expected ${codes.join(' or ')}, got ${res.statusCode} ${res.body.slice(0, 200)}`;

/** A name the victim holds must be free in the attacker's own project: anything else tells one project about another. */
const freshName = (ctx: AttackContext, key: string, code: number) => (ctx.firstUse(key) ? status(code) : undefined);

const octet = { 'content-type': 'application/octet-stream' };

const storagePaths = ({ victim: v, shared: s }: AttackContext) => [
  `${v.names.collection}/${v.names.key}`,
  `${v.names.collection}/${v.names.key}?owner=${v.alice.id}`,
  `${v.names.collection}/${v.names.publicKey}?owner=project`,
  `${s.collection}/${s.key}?owner=${v.alice.id}`,
  `${s.collection}/${s.publicKey}?owner=${v.alice.id}`,
];

const objectReads = (ctx: AttackContext): Variant[] => [
  ...storagePaths(ctx).map((path) => ({ url: `/v1/storage/${path}` })),
  { url: `/v1/storage/${ctx.shared.collection}/${ctx.shared.key}`, headers: { 'if-none-match': `"${ctx.victim.objectVersions[2]}"` } },
  { url: `/v1/storage/${ctx.victim.names.collection}/${ctx.victim.names.key}?owner=${ctx.attacker.alice.id}` },
];

export const drivers: Record<string, Driver> = {
  // ---- public ----
  getHealth: { method: 'GET', path: '/v1/healthz', variants: () => [{ url: '/v1/healthz' }, { url: '/v1/healthz', auth: 'none' }] },
  getReadiness: { method: 'GET', path: '/v1/readyz', variants: () => [{ url: '/v1/readyz' }] },
  getJwks: { method: 'GET', path: '/.well-known/jwks.json', variants: () => [{ url: '/.well-known/jwks.json' }] },

  // ---- operator API: every attacker credential is refused, whatever it names ----
  createTenant: { method: 'POST', path: '/v1/admin/tenants', variants: ({ victim: v }) => [{ url: '/v1/admin/tenants', payload: { name: v.tenantName } }] },
  listTenants: {
    method: 'GET',
    path: '/v1/admin/tenants',
    variants: ({ victim: v }) => [{ url: '/v1/admin/tenants' }, { url: `/v1/admin/tenants?cursor=${cursor({ after: v.project.tenantId })}` }],
  },
  createProject: {
    method: 'POST',
    path: '/v1/admin/tenants/{tenant_id}/projects',
    variants: ({ victim: v, attacker: x }) =>
      [v.project.tenantId, x.project.tenantId].map((tenant) => ({ url: `/v1/admin/tenants/${tenant}/projects`, payload: { name: v.projectName } })),
  },
  listProjects: {
    method: 'GET',
    path: '/v1/admin/tenants/{tenant_id}/projects',
    variants: ({ victim: v, attacker: x }) => [v.project.tenantId, x.project.tenantId].map((tenant) => ({ url: `/v1/admin/tenants/${tenant}/projects` })),
  },
  getTenantUsage: {
    method: 'GET',
    path: '/v1/admin/tenants/{tenant_id}/usage',
    variants: ({ victim: v, attacker: x }) => {
      const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
      const range = `from=${hour.toISOString()}&to=${new Date(hour.getTime() + 3_600_000).toISOString()}&granularity=hour`;
      return [
        { url: `/v1/admin/tenants/${v.project.tenantId}/usage?${range}` },
        { url: `/v1/admin/tenants/${v.project.tenantId}/usage?${range}&project_id=${v.project.projectId}` },
        { url: `/v1/admin/tenants/${x.project.tenantId}/usage?${range}&project_id=${v.project.projectId}` },
      ];
    },
  },
  updateProjectSettings: {
    method: 'PATCH',
    path: '/v1/admin/projects/{project_id}',
    variants: ({ victim: v }) => [{ url: `/v1/admin/projects/${v.project.projectId}`, payload: { limits: { rate_limit_per_min: 1 }, cors_origins: [] } }],
  },
  createApiKey: {
    method: 'POST',
    path: '/v1/admin/projects/{project_id}/api-keys',
    variants: ({ victim: v }) => [{ url: `/v1/admin/projects/${v.project.projectId}/api-keys`, payload: { kind: 'secret', name: 'stolen' } }],
  },
  listApiKeys: {
    method: 'GET',
    path: '/v1/admin/projects/{project_id}/api-keys',
    variants: ({ victim: v }) => [{ url: `/v1/admin/projects/${v.project.projectId}/api-keys` }],
  },
  rotateSigningKeys: { method: 'POST', path: '/v1/admin/signing-keys/rotate', variants: () => [{ url: '/v1/admin/signing-keys/rotate' }] },
  banPlayer: {
    method: 'POST',
    path: '/v1/admin/projects/{project_id}/players/{player_id}/ban',
    variants: ({ victim: v, attacker: x }) =>
      [v.project.projectId, x.project.projectId].map((project) => ({ url: `/v1/admin/projects/${project}/players/${v.alice.id}/ban` })),
  },
  unbanPlayer: {
    method: 'DELETE',
    path: '/v1/admin/projects/{project_id}/players/{player_id}/ban',
    variants: ({ victim: v, attacker: x }) =>
      [v.project.projectId, x.project.projectId].map((project) => ({ url: `/v1/admin/projects/${project}/players/${v.carol.id}/ban` })),
  },
  createFleet: {
    method: 'POST',
    path: '/v1/admin/projects/{project_id}/fleets',
    variants: ({ victim: v }) => [{ url: `/v1/admin/projects/${v.project.projectId}/fleets`, payload: { name: 'stolen', backend: 'local' } }],
  },
  listFleets: {
    method: 'GET',
    path: '/v1/admin/projects/{project_id}/fleets',
    variants: ({ victim: v }) => [{ url: `/v1/admin/projects/${v.project.projectId}/fleets` }],
  },
  updateFleet: {
    method: 'PATCH',
    path: '/v1/admin/projects/{project_id}/fleets/{name}',
    variants: ({ victim: v, shared: s }) =>
      [v.names.fleet, s.fleet].map((fleet) => ({ url: `/v1/admin/projects/${v.project.projectId}/fleets/${fleet}`, payload: { max_allocations: 0 } })),
  },

  // ---- sign-in (publishable or secret key) ----
  login: {
    method: 'POST',
    path: '/v1/auth/login',
    // The victim's right email and password, with the attacker's key: the attacker's project has no such player.
    variants: ({ victim: v }) => [{ url: '/v1/auth/login', payload: { email: v.alice.email, password: v.alice.password }, expect: status(401, 403) }],
  },
  deviceSignIn: {
    method: 'POST',
    path: '/v1/auth/device',
    variants: (ctx) => [
      {
        url: '/v1/auth/device',
        payload: { device_id: ctx.victim.bob.deviceId },
        expect: ctx.cred === 'player' ? undefined : freshName(ctx, `device:${ctx.victim.bob.deviceId}`, 201),
      },
    ],
  },
  refresh: {
    method: 'POST',
    path: '/v1/auth/refresh',
    variants: ({ victim: v }) =>
      [v.alice.refreshToken, v.alice.usedRefreshToken!, v.bob.refreshToken].map((token) => ({
        url: '/v1/auth/refresh',
        payload: { refresh_token: token },
        expect: status(401, 403),
      })),
  },
  signup: {
    method: 'POST',
    path: '/v1/auth/signup',
    variants: (ctx) => {
      const v = ctx.victim;
      if (ctx.cred === 'player') return [{ url: '/v1/auth/signup', payload: { email: v.alice.email, password: v.alice.password } }];
      const otherEmail = `${ctx.cred}-${ctx.attacker.label}-${v.label}@example.test`;
      return [
        { url: '/v1/auth/signup', payload: { email: v.alice.email, password: v.alice.password }, expect: freshName(ctx, `email:${v.alice.email}`, 201) },
        {
          url: '/v1/auth/signup',
          payload: { email: otherEmail, password: 'password-0123', username: v.alice.username },
          expect: freshName(ctx, `username:${v.alice.username}`, 201),
        },
      ];
    },
  },

  // ---- the player's own account (each request with a fresh player of the attacker: some end its session) ----
  getMe: { method: 'GET', path: '/v1/auth/me', variants: () => [{ url: '/v1/auth/me', auth: 'fresh-player' }, { url: '/v1/auth/me' }] },
  changePassword: {
    method: 'POST',
    path: '/v1/auth/password',
    variants: ({ victim: v }) => [
      { url: '/v1/auth/password', auth: 'fresh-player', payload: { current_password: v.alice.password, new_password: 'new-password-0123' } },
    ],
  },
  linkEmail: {
    method: 'POST',
    path: '/v1/auth/link/email',
    variants: ({ victim: v }) => [{ url: '/v1/auth/link/email', auth: 'fresh-player', payload: { email: v.alice.email, password: v.alice.password } }],
  },
  logout: { method: 'POST', path: '/v1/auth/logout', variants: () => [{ url: '/v1/auth/logout', auth: 'fresh-player' }] },
  revokeAllSessions: { method: 'POST', path: '/v1/auth/sessions/revoke-all', variants: () => [{ url: '/v1/auth/sessions/revoke-all', auth: 'fresh-player' }] },

  // ---- realtime: a plain GET here; the test also opens real WebSockets ----
  connectRealtime: {
    method: 'GET',
    path: '/v1/realtime',
    variants: ({ attacker: x }) => [{ url: '/v1/realtime' }, { url: `/v1/realtime?token=${x.bob.accessToken}`, auth: 'none' }],
  },

  // ---- storage ----
  getStorageObject: { method: 'GET', path: '/v1/storage/{collection}/{key}', variants: objectReads },
  headStorageObject: { method: 'HEAD', path: '/v1/storage/{collection}/{key}', variants: objectReads },
  listStorageObjects: {
    method: 'GET',
    path: '/v1/storage/{collection}',
    variants: ({ victim: v, shared: s }) => [
      { url: `/v1/storage/${v.names.collection}` },
      { url: `/v1/storage/${v.names.collection}?owner=${v.alice.id}` },
      { url: `/v1/storage/${v.names.collection}?owner=project` },
      { url: `/v1/storage/${s.collection}?owner=${v.alice.id}` },
      { url: `/v1/storage/${s.collection}?prefix=${s.key.slice(0, 8)}` },
      { url: `/v1/storage/${v.names.collection}?owner=${v.alice.id}&cursor=${v.cursors.storage}` },
      { url: `/v1/storage/${s.collection}?cursor=${v.cursors.storage}` },
      { url: `/v1/storage/${s.collection}?cursor=${cursor({ after: '' })}` },
    ],
  },
  putStorageObject: {
    method: 'PUT',
    path: '/v1/storage/{collection}/{key}',
    variants: (ctx) => {
      const v = ctx.victim;
      const own = `${v.names.collection}/${v.names.key}`;
      return [
        // The victim's names in the attacker's own space: free there, so created (never "already exists").
        {
          url: `/v1/storage/${own}`,
          headers: { ...octet, 'if-none-match': '*' },
          payload: 'attacker bytes',
          expect: ctx.cred === 'publishable' ? undefined : freshName(ctx, `object:${ctx.cred}:${own}`, 201),
        },
        { url: `/v1/storage/${own}?owner=${v.alice.id}`, headers: octet, payload: 'attacker bytes' },
        { url: `/v1/storage/${ctx.shared.collection}/${ctx.shared.publicKey}?owner=${v.alice.id}&acl=public-read`, headers: octet, payload: 'attacker bytes' },
        { url: `/v1/storage/${ctx.shared.collection}/${ctx.shared.key}`, headers: { ...octet, 'if-match': `"${v.objectVersions[2]}"` }, payload: 'attacker bytes' },
      ];
    },
  },

  // ---- leaderboards ----
  listLeaderboards: {
    method: 'GET',
    path: '/v1/leaderboards',
    variants: ({ victim: v }) => [
      { url: '/v1/leaderboards?limit=100' },
      { url: `/v1/leaderboards?cursor=${v.cursors.boards}` },
      { url: `/v1/leaderboards?cursor=${cursor({ a: v.names.board })}` },
    ],
  },
  getLeaderboard: {
    method: 'GET',
    path: '/v1/leaderboards/{id}',
    variants: ({ victim: v, shared: s }) => [v.names.board, v.names.authoritativeBoard, s.board].map((board) => ({ url: `/v1/leaderboards/${board}` })),
  },
  listScores: {
    method: 'GET',
    path: '/v1/leaderboards/{id}/scores',
    variants: ({ victim: v, shared: s }) => [
      { url: `/v1/leaderboards/${v.names.board}/scores` },
      { url: `/v1/leaderboards/${s.board}/scores?limit=100` },
      { url: `/v1/leaderboards/${s.board}/scores?around=${v.alice.id}` },
      { url: `/v1/leaderboards/${s.board}/scores?cursor=${v.cursors.scores}` },
      { url: `/v1/leaderboards/${s.board}/scores?cursor=${cursor({ m: `${'0'.repeat(48)}${v.alice.id}` })}` },
      { url: `/v1/leaderboards/${s.board}/scores?cursor=${cursor({ m: `${'f'.repeat(48)}9999999999999999999` })}` },
      { url: `/v1/leaderboards/${v.names.authoritativeBoard}/scores?period=previous` },
    ],
  },
  getScore: {
    method: 'GET',
    path: '/v1/leaderboards/{id}/scores/{player_id}',
    variants: ({ victim: v, attacker: x, shared: s }) => [
      { url: `/v1/leaderboards/${s.board}/scores/${v.alice.id}` },
      { url: `/v1/leaderboards/${v.names.board}/scores/${v.bob.id}` },
      { url: `/v1/leaderboards/${v.names.authoritativeBoard}/scores/${v.alice.id}?period=previous` },
      { url: `/v1/leaderboards/${v.names.board}/scores/${x.bob.id}` },
      { url: `/v1/leaderboards/${s.board}/scores/${FAR_ID}` },
    ],
  },
  createLeaderboard: {
    method: 'POST',
    path: '/v1/leaderboards',
    variants: (ctx) => [
      {
        url: '/v1/leaderboards',
        payload: { id: ctx.victim.names.board, sort: 'desc', operator: 'best' },
        expect: ctx.cred === 'secret' ? freshName(ctx, `board:${ctx.victim.names.board}`, 201) : undefined,
      },
    ],
  },
  submitScore: {
    method: 'POST',
    path: '/v1/leaderboards/{id}/scores',
    variants: ({ victim: v, attacker: x, shared: s, cred }) => [
      { url: `/v1/leaderboards/${s.board}/scores`, payload: { player_id: v.alice.id, score: SCORE } },
      { url: `/v1/leaderboards/${v.names.authoritativeBoard}/scores`, payload: { player_id: v.alice.id, score: SCORE } },
      { url: `/v1/leaderboards/${v.names.board}/scores`, payload: cred === 'player' ? { score: SCORE } : { player_id: x.bob.id, score: SCORE } },
      { url: `/v1/leaderboards/${s.board}/scores`, payload: cred === 'player' ? { score: SCORE } : { player_id: x.alice.id, score: SCORE } },
      // The victim's exact idempotent request under the victim's key: a new request here, never the victim's replay.
      { url: `/v1/leaderboards/${s.board}/scores`, headers: { 'idempotency-key': s.scoreIdempotencyKey }, payload: { player_id: v.bob.id, score: 7 } },
    ],
  },

  // ---- fleet ----
  listProjectFleets: {
    method: 'GET',
    path: '/v1/fleet/fleets',
    variants: ({ victim: v }) => [
      { url: '/v1/fleet/fleets?limit=100' },
      { url: `/v1/fleet/fleets?cursor=${v.cursors.fleets}` },
      { url: `/v1/fleet/fleets?cursor=${cursor({ after: '' })}` },
      { url: `/v1/fleet/fleets?cursor=${cursor({ after: '\u0000' })}` },
    ],
  },
  listAllocations: {
    method: 'GET',
    path: '/v1/fleet/allocations',
    variants: ({ victim: v, shared: s }) => [
      { url: '/v1/fleet/allocations?limit=100' },
      { url: `/v1/fleet/allocations?fleet=${v.names.fleet}` },
      { url: `/v1/fleet/allocations?fleet=${s.fleet}&state=Allocated` },
      { url: `/v1/fleet/allocations?cursor=${v.cursors.allocations}` },
      { url: `/v1/fleet/allocations?cursor=${cursor({ before: FAR_ID })}` },
    ],
  },
  getAllocation: {
    method: 'GET',
    path: '/v1/fleet/allocations/{id}',
    variants: ({ victim: v, attacker: x }) => [...v.allocationIds, x.allocationIds[1]!, FAR_ID].map((id) => ({ url: `/v1/fleet/allocations/${id}` })),
  },
  createAllocation: {
    method: 'POST',
    path: '/v1/fleet/allocations',
    variants: ({ victim: v, shared: s, cred }) => [
      { url: '/v1/fleet/allocations', payload: { fleet: v.names.fleet }, expect: cred === 'secret' ? status(404) : undefined },
      // The victim's idempotent request, key and body alike: the attacker's own allocation (or quota), never a replay.
      { url: '/v1/fleet/allocations', headers: { 'idempotency-key': v.allocationIdempotencyKey }, payload: { fleet: s.fleet } },
      { url: '/v1/fleet/allocations', payload: { fleet: 'default' } },
    ],
  },

  // ---- notifications ----
  sendNotifications: {
    method: 'POST',
    path: '/v1/notifications',
    variants: ({ victim: v, attacker: x, cred }) => [
      // Another project's players are not players of the attacker's project: nothing is sent to anyone.
      { url: '/v1/notifications', payload: { player_ids: [v.alice.id], code: 'fuzz', subject: 'x', content: {} }, expect: cred === 'secret' ? status(404) : undefined },
      {
        url: '/v1/notifications',
        payload: { player_ids: [x.alice.id, v.bob.id], code: 'isolation.seed', subject: 'x', content: {} },
        expect: cred === 'secret' ? status(404) : undefined,
      },
    ],
  },
  listNotifications: {
    method: 'GET',
    path: '/v1/notifications',
    variants: ({ victim: v, cred }) => [
      { url: '/v1/notifications?limit=100' },
      { url: `/v1/notifications?player_id=${v.alice.id}`, expect: cred === 'secret' ? status(404) : undefined },
      { url: `/v1/notifications?cursor=${cursor({ after: '0' })}` },
      ...v.notificationIds.map((id) => ({ url: `/v1/notifications?cursor=${cursor({ after: String(BigInt(id) - 1n) })}` })),
    ],
  },
  // ---- chat ----
  listChannelMessages: {
    method: 'GET',
    path: '/v1/channels/{channel}/messages',
    variants: ({ victim: v, shared: s, cred }) => [
      // The attacker's own room of the same name: its own messages only.
      { url: `/v1/channels/room:${s.room}/messages` },
      { url: `/v1/channels/room:${s.room}/messages?after_seq=0&limit=100` },
      ...v.chat.seqs.map((seq) => ({ url: `/v1/channels/room:${s.room}/messages?before_seq=${seq + 1}` })),
      // The victim's dm names players the attacker's project does not have.
      { url: `/v1/channels/${v.chat.dm}/messages`, expect: cred === 'player' ? status(404) : cred === 'secret' ? status(200) : undefined },
      { url: `/v1/channels/dm:${v.alice.id}/messages`, expect: cred === 'player' ? status(404) : cred === 'secret' ? status(400) : undefined },
    ],
  },
  // ---- parties ----
  getParty: {
    method: 'GET',
    path: '/v1/parties/{party_id}',
    variants: ({ victim: v, cred }) => [{ url: `/v1/parties/${v.partyId}`, expect: cred === 'publishable' ? undefined : status(404) }],
  },
  // ---- social graph ----
  listFriends: {
    method: 'GET',
    path: '/v1/friends',
    variants: ({ victim: v, attacker: x, cred }) => [
      { url: '/v1/friends?limit=100' },
      { url: `/v1/friends?player_id=${v.alice.id}`, expect: cred === 'secret' ? status(404) : undefined },
      { url: `/v1/friends?player_id=${x.alice.id}&cursor=${cursor({ r: 1, p: v.bob.id })}` },
      { url: `/v1/friends?cursor=${cursor({ r: 1, p: '1' })}` },
    ],
  },
  getFriend: {
    method: 'GET',
    path: '/v1/friends/{player_id}',
    variants: ({ victim: v, attacker: x, cred }) =>
      [v.alice.id, v.bob.id, `${v.bob.id}?player_id=${x.alice.id}`, `${v.bob.id}?player_id=${v.alice.id}`].map((path) => ({
        url: `/v1/friends/${path}`,
        expect: cred === 'publishable' ? undefined : status(400, 404),
      })),
  },
  sendFriendRequest: {
    method: 'POST',
    path: '/v1/friends/requests',
    variants: ({ victim: v, attacker: x, cred }) => {
      const expect = cred === 'publishable' ? undefined : status(400, 404);
      return [
        { url: '/v1/friends/requests', payload: { player_id: v.alice.id }, expect },
        // The victim's username may name a player the fuzzer signed up in the attacker's own project.
        { url: '/v1/friends/requests', payload: { username: v.alice.username } },
        { url: `/v1/friends/requests?player_id=${x.alice.id}`, payload: { player_id: v.bob.id }, expect },
        { url: `/v1/friends/requests?player_id=${x.alice.id}`, payload: { username: v.alice.username } },
        { url: `/v1/friends/requests?player_id=${v.alice.id}`, payload: { player_id: x.bob.id }, expect },
      ];
    },
  },
  ...Object.fromEntries(
    (
      [
        ['acceptFriendRequest', 'POST', 'accept'],
        ['declineFriendRequest', 'POST', 'decline'],
        ['blockPlayer', 'POST', 'block'],
      ] as const
    ).map(([operation, method, action]): [string, Driver] => [
      operation,
      {
        method,
        path: `/v1/friends/{player_id}/${action}`,
        variants: ({ victim: v, attacker: x, cred }) =>
          [v.alice.id, v.bob.id, `${v.bob.id}?player_id=${x.alice.id}`, `${v.alice.id}?player_id=${v.bob.id}`].map((path) => {
            const [id, query] = path.split('?');
            return { url: `/v1/friends/${id}/${action}${query ? `?${query}` : ''}`, expect: cred === 'publishable' ? undefined : status(400, 404) };
          }),
      },
    ]),
  ),
  // ---- matchmaker ----
  createPool: {
    method: 'POST',
    path: '/v1/matchmaker/pools',
    variants: ({ victim: v, shared: s }) =>
      [s.pool, v.names.pool].map((id) => ({
        url: '/v1/matchmaker/pools',
        payload: { id, fleet: v.names.fleet, min_players: 2, max_players: 2, skill: { window_start: 1, growth_per_second: 1, source: `leaderboard:${v.names.board}` }, max_wait_seconds: 60 },
      })),
  },
  listPools: {
    method: 'GET',
    path: '/v1/matchmaker/pools',
    variants: ({ victim: v }) => [{ url: '/v1/matchmaker/pools?limit=100' }, { url: `/v1/matchmaker/pools?cursor=${cursor({ i: v.names.pool })}` }],
  },
  getPool: {
    method: 'GET',
    path: '/v1/matchmaker/pools/{id}',
    variants: ({ victim: v, shared: s }) => [v.names.pool, s.pool].map((id) => ({ url: `/v1/matchmaker/pools/${id}` })),
  },
  updatePool: {
    method: 'PATCH',
    path: '/v1/matchmaker/pools/{id}',
    variants: ({ victim: v, shared: s }) =>
      [v.names.pool, s.pool].map((id) => ({ url: `/v1/matchmaker/pools/${id}`, payload: { max_wait_seconds: 10, fleet: v.names.fleet } })),
  },
  createTicket: {
    method: 'POST',
    path: '/v1/matchmaker/tickets',
    variants: ({ victim: v, shared: s, cred }) => {
      const expect = cred === 'publishable' ? undefined : status(400, 403, 404, 409);
      return [
        { url: '/v1/matchmaker/tickets', payload: { pool: v.names.pool, skill: 1, regions: ['eu'] }, expect },
        { url: '/v1/matchmaker/tickets', payload: { pool: s.pool, skill: 1, regions: ['eu'], player_ids: [v.alice.id, v.bob.id] }, expect },
        { url: '/v1/matchmaker/tickets', payload: { pool: s.pool, skill: 1, regions: ['eu'], party_id: v.partyId }, expect },
      ];
    },
  },
  listTickets: {
    method: 'GET',
    path: '/v1/matchmaker/tickets',
    variants: ({ victim: v, attacker: x, cred }) => [
      { url: `/v1/matchmaker/tickets?player_id=${v.alice.id}`, expect: cred === 'secret' ? status(404) : undefined },
      { url: `/v1/matchmaker/tickets?player_id=${x.alice.id}&cursor=${cursor({ t: String(BigInt(v.ticketId) + 1n) })}` },
      { url: '/v1/matchmaker/tickets?state=searching' },
    ],
  },
  getTicket: {
    method: 'GET',
    path: '/v1/matchmaker/tickets/{id}',
    variants: ({ victim: v, cred }) => [{ url: `/v1/matchmaker/tickets/${v.ticketId}`, expect: cred === 'publishable' ? undefined : status(404) }],
  },
  getMatch: {
    method: 'GET',
    path: '/v1/matchmaker/matches/{id}',
    variants: ({ victim: v, cred }) => [v.ticketId, FAR_ID].map((id) => ({ url: `/v1/matchmaker/matches/${id}`, expect: cred === 'publishable' ? undefined : status(404) })),
  },
  // ---- destructive, last ----
  deleteStorageObject: {
    method: 'DELETE',
    path: '/v1/storage/{collection}/{key}',
    variants: (ctx) => [
      ...storagePaths(ctx).map((path) => ({ url: `/v1/storage/${path}` })),
      { url: `/v1/storage/${ctx.shared.collection}/${ctx.shared.key}`, headers: { 'if-match': `"${ctx.victim.objectVersions[2]}"` } },
    ],
  },
  deleteScore: {
    method: 'DELETE',
    path: '/v1/leaderboards/{id}/scores/{player_id}',
    variants: ({ victim: v, shared: s }) => [
      { url: `/v1/leaderboards/${s.board}/scores/${v.alice.id}` },
      { url: `/v1/leaderboards/${v.names.board}/scores/${v.bob.id}` },
      { url: `/v1/leaderboards/${v.names.authoritativeBoard}/scores/${v.alice.id}?period=previous` },
    ],
  },
  releaseAllocation: {
    method: 'DELETE',
    path: '/v1/fleet/allocations/{id}',
    variants: ({ victim: v }) => [...v.allocationIds, FAR_ID].map((id) => ({ url: `/v1/fleet/allocations/${id}` })),
  },
  deleteNotification: {
    method: 'DELETE',
    path: '/v1/notifications/{id}',
    variants: ({ victim: v, cred }) => [
      ...[...v.notificationIds, FAR_ID].map((id) => ({ url: `/v1/notifications/${id}`, expect: cred === 'publishable' ? undefined : status(400, 404) })),
      ...v.notificationIds.map((id) => ({ url: `/v1/notifications/${id}?player_id=${v.alice.id}`, expect: cred === 'publishable' ? undefined : status(400, 404) })),
    ],
  },
  deleteChannelMessage: {
    method: 'DELETE',
    path: '/v1/channels/{channel}/messages/{seq}',
    variants: ({ victim: v, shared: s, cred }) => [
      ...v.chat.seqs.map((seq) => ({ url: `/v1/channels/${v.chat.dm}/messages/${seq}`, expect: cred === 'publishable' ? undefined : status(404) })),
      { url: `/v1/channels/room:${s.room}/messages/${FAR_ID.slice(0, 15)}`, expect: cred === 'publishable' ? undefined : status(404) },
    ],
  },
  removeFriend: {
    method: 'DELETE',
    path: '/v1/friends/{player_id}',
    variants: ({ victim: v, attacker: x, cred }) =>
      [v.alice.id, v.bob.id, `${v.bob.id}?player_id=${x.alice.id}`, `${v.bob.id}?player_id=${v.alice.id}`].map((path) => ({
        url: `/v1/friends/${path}`,
        expect: cred === 'publishable' ? undefined : status(400, 404),
      })),
  },
  unblockPlayer: {
    method: 'DELETE',
    path: '/v1/friends/{player_id}/block',
    variants: ({ victim: v, attacker: x, cred }) =>
      [v.carol.id, `${v.carol.id}?player_id=${x.alice.id}`, `${v.carol.id}?player_id=${v.alice.id}`].map((path) => {
        const [id, query] = path.split('?');
        return { url: `/v1/friends/${id}/block${query ? `?${query}` : ''}`, expect: cred === 'publishable' ? undefined : status(400, 404) };
      }),
  },
  cancelTicket: {
    method: 'DELETE',
    path: '/v1/matchmaker/tickets/{id}',
    variants: ({ victim: v, cred }) => [{ url: `/v1/matchmaker/tickets/${v.ticketId}`, expect: cred === 'publishable' ? undefined : status(404) }],
  },
  deletePool: {
    method: 'DELETE',
    path: '/v1/matchmaker/pools/{id}',
    variants: ({ victim: v, shared: s }) => [v.names.pool, s.pool].map((id) => ({ url: `/v1/matchmaker/pools/${id}` })),
  },
  deleteLeaderboard: {
    method: 'DELETE',
    path: '/v1/leaderboards/{id}',
    variants: ({ victim: v, shared: s }) => [v.names.board, v.names.authoritativeBoard, s.board].map((board) => ({ url: `/v1/leaderboards/${board}` })),
  },
  deleteFleet: {
    method: 'DELETE',
    path: '/v1/admin/projects/{project_id}/fleets/{name}',
    variants: ({ victim: v, shared: s }) => [v.names.fleet, s.fleet].map((fleet) => ({ url: `/v1/admin/projects/${v.project.projectId}/fleets/${fleet}` })),
  },
  revokeApiKey: {
    method: 'DELETE',
    path: '/v1/admin/api-keys/{key_id}',
    variants: ({ victim: v }) => v.keyIds.map((id) => ({ url: `/v1/admin/api-keys/${id}` })),
  },
};
