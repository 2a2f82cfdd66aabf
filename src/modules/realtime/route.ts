/**
 * `GET /v1/realtime` (WebSocket). Everything that can refuse a client happens BEFORE the upgrade, as plain
 * HTTP problem JSON: the credential gate (401 for a missing or bad token, 403 for a credential that is not a
 * player's), then the connection caps (429 quota-exceeded with Retry-After). Only then does ws upgrade.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { AuthContext } from '../../http/auth-context.js';
import { authOf, bearerOf, type CredentialGate } from '../../http/credential-gate.js';
import type { LimitsConfig } from '../ratelimit/api.js';
import { AppError, unavailable, validation } from '../../internal/errors/app-error.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import type { CapLease, CapRefusal, ConnectionCaps } from './connection-caps.js';
import { CloseCode } from './envelope.js';
import { handshakeProblem } from './handshake.js';
import type { RealtimeHub } from './hub.js';
import type { RealtimeMetrics } from './metrics.js';
import type { ResumeRequest } from './sessions.js';

export interface RealtimeRouteDeps {
  gate: CredentialGate;
  settings: ProjectSettingsSource;
  limits: LimitsConfig;
  caps: ConnectionCaps;
  hub: RealtimeHub;
  metrics: RealtimeMetrics;
  /** Whether a resume token names a live session of the caller (its connection may still be counted). */
  resumable: (auth: AuthContext, token: string) => Promise<boolean>;
}

const TOKEN = /^[\x21-\x7e]{1,4096}$/;

const Query = Type.Object(
  {
    token: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: 'The player access token, for clients that cannot send headers (browsers).' }),
    ),
    resume: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The resume_token of the session to resume (with last_seq).' })),
    last_seq: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The seq of the last event the client received (with resume).' }),
    ),
  },
  { additionalProperties: false },
);

/** A slot frees whenever a client of the tenant or player disconnects: a short, fixed hint. */
const CAP_RETRY_AFTER_SECONDS = 5;

const REFUSALS: Record<CapRefusal, string> = {
  'player-cap': 'This player already has the most WebSocket connections allowed; close one first.',
  'tenant-cap': "The tenant's WebSocket connection cap is reached; retry later.",
};

/** `?token=`: only a single, printable value (a repeated parameter is no credential). */
function tokenOf(request: FastifyRequest): string | undefined {
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' && TOKEN.test(token) ? token : undefined;
}

/** The `exp` of an access token the resolver has already verified (so its payload can be trusted). */
function expiryOf(token: string): number {
  try {
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** `resume` and `last_seq`, both or neither (checked by the schema's types first). */
function resumeOf(request: FastifyRequest): ResumeRequest | undefined {
  const { resume, last_seq: lastSeq } = request.query as { resume?: string; last_seq?: number };
  if (resume === undefined && lastSeq === undefined) return undefined;
  if (resume === undefined || lastSeq === undefined) throw validation('"resume" and "last_seq" go together: send both or neither.');
  return { token: resume, lastSeq };
}

export async function realtimeRoutes(app: FastifyInstance, deps: RealtimeRouteDeps): Promise<void> {
  deps.gate(app, ['player'], { credentialOf: tokenOf });
  // The lease taken before the upgrade, handed to the WebSocket handler once ws has upgraded.
  const leases = new WeakMap<FastifyRequest, CapLease>();
  const capRefusals = new WeakMap<FastifyRequest, CapRefusal>();
  // Every upgrade refused before the upgrade (auth, budgets, caps) is counted; successful upgrades are
  // hijacked and never reach onResponse.
  app.addHook('onResponse', async (request, reply) => {
    if (request.ws && reply.statusCode >= 400) deps.metrics.refused(reply.statusCode, capRefusals.get(request));
  });

  app.route({
    method: 'GET',
    url: '/v1/realtime',
    schema: {
      operationId: 'connectRealtime',
      tags: ['realtime'],
      summary: 'Open the realtime WebSocket',
      description:
        'WebSocket upgrade (RFC 6455). Credential: a player access token, as "Authorization: Bearer" or ?token=. ' +
        'JSON text frames {"op","id"?,...}; {"op":"ping"} is answered {"op":"pong"}. Refusals (400, 401, 403, ' +
        '429, and 503 while the node drains) are plain HTTP answers before the upgrade. ?resume=&last_seq= ' +
        'resumes a session within its window, on any node. Close codes: 1000 from the client ends the session, ' +
        '1008 message flooding, 1009 frame too large, 1012 node restarting (resume elsewhere), 4001 session ' +
        'ended or player banned, 4002 replaced by a connection that resumed the session.',
      querystring: Query,
      response: { 101: Type.Null({ description: 'Switching Protocols: the WebSocket is open.' }) },
    },
    preHandler: async (request) => {
      if (!request.ws) return; // a plain GET: the handler below explains
      const badHandshake = handshakeProblem(request.headers);
      if (badHandshake) throw validation(badHandshake);
      const resume = resumeOf(request);
      if (deps.hub.closing) throw unavailable('This node is restarting; connect again (another node will answer).', 1);
      const auth = authOf(request);
      const overrides = (await deps.settings.get(auth)).limits;
      // A resume replaces a connection the caps already count (make-before-break): one more slot for it.
      const replacing = resume !== undefined && (await deps.resumable(auth, resume.token));
      const extra = replacing ? 1 : 0;
      const outcome = await deps.caps.acquire(
        { tenantId: auth.tenantId, projectId: auth.projectId, playerId: auth.playerId! },
        {
          tenant: (overrides.ws_max_connections_per_tenant ?? deps.limits.wsPerTenant) + extra,
          player: (overrides.ws_max_connections_per_player ?? deps.limits.wsPerPlayer) + extra,
        },
      );
      if (!outcome.ok) {
        capRefusals.set(request, outcome.reason);
        throw new AppError('quota-exceeded', REFUSALS[outcome.reason], { retryAfterSeconds: CAP_RETRY_AFTER_SECONDS });
      }
      const { lease } = outcome;
      // The same TCP socket carries the upgraded WebSocket: its end releases the slot on every path,
      // including an upgrade that ws refuses (a bad Sec-WebSocket-Key) or a client that leaves mid-handshake.
      const socket = request.raw.socket;
      if (socket.destroyed) {
        await lease.release();
        throw validation('The client left before the upgrade.');
      }
      socket.once('close', () => void lease.release());
      leases.set(request, lease);
    },
    handler: async () => {
      throw validation('GET /v1/realtime is a WebSocket endpoint: send "Connection: Upgrade" and "Upgrade: websocket".');
    },
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      const lease = leases.get(request);
      const auth = authOf(request);
      const credential = bearerOf(request) ?? tokenOf(request);
      if (!lease || lease.released || credential === undefined || deps.hub.closing) {
        socket.close(deps.hub.closing ? CloseCode.serviceRestart : CloseCode.internalError, 'try again');
        return;
      }
      const connection = deps.hub.open(
        socket,
        {
          identity: { tenantId: auth.tenantId, projectId: auth.projectId, playerId: auth.playerId!, sessionId: auth.sessionId! },
          credential,
          credentialExpiresAt: expiryOf(credential),
          lease,
        },
        resumeOf(request),
      );
      // A revocation that landed between the auth hook and now found no socket to close: check once more
      // (a cache hit unless exactly that happened).
      void deps.hub.recheck(connection, 'always');
      request.log.debug({ tenant_id: auth.tenantId, player_id: auth.playerId }, 'realtime connected');
    },
  });
}
