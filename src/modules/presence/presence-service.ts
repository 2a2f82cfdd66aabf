/**
 * Presence: a player's status and meta, pushed to everyone allowed to see it (online friends, party members,
 * subscribers) on every node, never across a block. Online and offline follow realtime's sessions: a player
 * is online from its first session's start until its last one ends (its resume window included).
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AuthApi } from '../auth/api.js';
import type { RealtimeApi } from '../realtime/api.js';
import type { SocialApi } from '../social/api.js';
import type { Presence, PresenceAudience } from './api.js';
import type { PresenceStore, StoredPresence } from './presence-store.js';

export interface PresenceServiceDeps {
  store: PresenceStore;
  realtime: RealtimeApi;
  social: SocialApi;
  players: AuthApi['players'];
  logger: Logger;
}

/** The topic a player's subscribers join (its presence changes are published there). */
export function presenceTopic(scope: ProjectScope, playerId: string): string {
  return `{${scope.tenantId}}:${scope.projectId}:rt:presence:${playerId}`;
}

export class PresenceService {
  readonly audiences: PresenceAudience[] = [];

  constructor(private readonly deps: PresenceServiceDeps) {}

  async presences(scope: ProjectScope, playerIds: readonly string[]): Promise<Map<string, Presence>> {
    const players = await this.deps.players.find(scope, playerIds);
    const ids = [...players.keys()];
    const [online, stored] = await Promise.all([this.deps.realtime.online(scope, ids), this.deps.store.getMany(scope, ids)]);
    const views = new Map<string, Presence>();
    for (const id of ids) views.set(id, view(id, players.get(id)!.username, online.has(id), stored.get(id)));
    return views;
  }

  /** The player's first session started: status `online`, and everyone allowed hears it. */
  async wentOnline(scope: ProjectScope, playerId: string): Promise<void> {
    const before = await this.deps.store.get(scope, playerId);
    await this.change(scope, playerId, { status: 'online', meta: null, updatedAt: Date.now(), lastSeenAt: before?.lastSeenAt ?? null });
  }

  /** The player's last session ended: offline, seen now. */
  async wentOffline(scope: ProjectScope, playerId: string): Promise<void> {
    const now = Date.now();
    await this.change(scope, playerId, { status: null, meta: null, updatedAt: now, lastSeenAt: now });
  }

  /** A presence.update: the fields given change, the others stay. */
  async update(scope: ProjectScope, playerId: string, fields: { status?: string; meta?: Record<string, unknown> | null }): Promise<Presence> {
    const before = await this.deps.store.get(scope, playerId);
    return this.change(scope, playerId, {
      status: fields.status ?? before?.status ?? 'online',
      meta: fields.meta === undefined ? (before?.meta ?? null) : fields.meta,
      updatedAt: Date.now(),
      lastSeenAt: before?.lastSeenAt ?? null,
    });
  }

  /** Of these players, those the session's player may not reach either way (a block on either side). */
  async blockedAround(scope: ProjectScope, playerId: string): Promise<Set<string>> {
    const [blocked, blockers] = await Promise.all([this.deps.social.blockedBy(scope, playerId), this.deps.social.blockersOf(scope, playerId)]);
    return new Set([...blocked, ...blockers]);
  }

  private async change(scope: ProjectScope, playerId: string, next: StoredPresence): Promise<Presence> {
    await this.deps.store.put(scope, playerId, next);
    const [presence] = (await this.presences(scope, [playerId])).values();
    if (presence) await this.push(scope, playerId, presence);
    return presence ?? view(playerId, null, next.status !== null, next);
  }

  /** To friends, the audiences' players and subscribers, minus anyone on the other side of a block. */
  private async push(scope: ProjectScope, playerId: string, presence: Presence): Promise<void> {
    const event = { op: 'presence', presence };
    try {
      const [friends, blocked, ...others] = await Promise.all([
        this.deps.social.friendIds(scope, playerId),
        this.blockedAround(scope, playerId),
        ...this.audiences.map((audience) => audience.audienceOf(scope, playerId)),
      ]);
      const audience = new Set([...friends, ...others.flat()]);
      audience.delete(playerId);
      for (const id of blocked) audience.delete(id);
      await Promise.all([this.deps.realtime.toPlayers(scope, [...audience], event), this.deps.realtime.publish(presenceTopic(scope, playerId), event)]);
    } catch (error) {
      // Presence is "latest state wins": a lost push is corrected by the next one.
      this.deps.logger.warn({ err: error }, 'presence: a push failed');
    }
  }
}

function view(playerId: string, username: string | null, online: boolean, stored: StoredPresence | undefined): Presence {
  return {
    player_id: playerId,
    username,
    online,
    status: online ? (stored?.status ?? 'online') : null,
    meta: online ? (stored?.meta ?? null) : null,
    updated_at: stored ? new Date(stored.updatedAt).toISOString() : null,
    last_seen_at: stored?.lastSeenAt ? new Date(stored.lastSeenAt).toISOString() : null,
  };
}
