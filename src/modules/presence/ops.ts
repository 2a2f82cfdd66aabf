/** The presence ops: presence.update, presence.subscribe, presence.unsubscribe (docs/api/presence.md). */
import { AppError, validation } from '../../internal/errors/app-error.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import { spendOpBudget, type OpHandler, type OpRequest } from '../realtime/api.js';
import type { RateLimiter } from '../ratelimit/api.js';
import type { PresenceConfig } from './config.js';
import type { PresenceService } from './presence-service.js';
import type { PresenceSubscriptions } from './subscriptions.js';

const MAX_STATUS_BYTES = 128;
const MAX_META_BYTES = 1024;
const MAX_IDS = 100;

export interface PresenceOpsDeps {
  service: PresenceService;
  subscriptions: PresenceSubscriptions;
  limiter: RateLimiter;
  settings: ProjectSettingsSource;
  config: PresenceConfig;
}

function playerIdsOf(request: OpRequest): string[] {
  const ids = request.player_ids;
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_IDS || !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 64)) {
    throw validation(`"player_ids" must be an array of 1 to ${MAX_IDS} player ids.`);
  }
  return ids as string[];
}

function updateOf(request: OpRequest): { status?: string; meta?: Record<string, unknown> | null } {
  const { status, meta } = request;
  if (status === undefined && meta === undefined) throw validation('Send "status", "meta" or both.');
  const fields: { status?: string; meta?: Record<string, unknown> | null } = {};
  if (status !== undefined) {
    if (typeof status !== 'string' || status.length === 0) throw validation('"status" must be a non-empty string.');
    if (Buffer.byteLength(status, 'utf8') > MAX_STATUS_BYTES) throw new AppError('payload-too-large', `"status" is at most ${MAX_STATUS_BYTES} bytes.`);
    fields.status = status;
  }
  if (meta !== undefined) {
    if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) throw validation('"meta" must be a JSON object or null.');
    if (meta !== null && Buffer.byteLength(JSON.stringify(meta), 'utf8') > MAX_META_BYTES) {
      throw new AppError('payload-too-large', `"meta" is at most ${MAX_META_BYTES} bytes of JSON.`);
    }
    fields.meta = meta as Record<string, unknown> | null;
  }
  return fields;
}

export function presenceOps(deps: PresenceOpsDeps): Record<string, OpHandler> {
  const limit = async (session: Parameters<OpHandler>[1], name: 'presence_updates_per_min' | 'presence_max_subscriptions', fallback: number) =>
    (await deps.settings.get(session)).limits[name] ?? fallback;
  return {
    'presence.update': async (request, session) => {
      const fields = updateOf(request);
      const perMin = await limit(session, 'presence_updates_per_min', deps.config.updatesPerMin);
      await spendOpBudget(
        deps.limiter,
        { name: 'presence-updates', key: `{${session.tenantId}}:${session.projectId}:rl:presence-updates:${session.playerId}`, limit: perMin, windowMs: 60_000 },
        `At most ${perMin} presence updates per minute.`,
      );
      return { presence: await deps.service.update(session, session.playerId, fields) };
    },
    'presence.subscribe': async (request, session) => {
      const ids = playerIdsOf(request);
      const max = await limit(session, 'presence_max_subscriptions', deps.config.maxSubscriptions);
      return { presences: await deps.subscriptions.subscribe(session, ids, max) };
    },
    'presence.unsubscribe': (request, session) => {
      deps.subscriptions.unsubscribe(session, playerIdsOf(request));
    },
  };
}
