/**
 * The state behind a player's presence, in the cache backend (shared on Redis, per node on memory): the
 * custom status and meta, when they changed, and when the player was last seen. Whether the player is online
 * is not stored here: realtime knows (a lease per session).
 */
import type { CacheBackend } from '../../internal/cache/cache.js';
import type { ProjectScope } from '../../http/auth-context.js';

export interface StoredPresence {
  status: string | null;
  meta: Record<string, unknown> | null;
  updatedAt: number;
  lastSeenAt: number | null;
}

/** Presence outlives sessions for `last_seen_at`; a player unseen for this long is reported as never seen. */
const KEPT_MS = 30 * 24 * 3600_000;

export class PresenceStore {
  constructor(private readonly cache: CacheBackend) {}

  async get(scope: ProjectScope, playerId: string): Promise<StoredPresence | undefined> {
    const raw = await this.cache.getValue(key(scope, playerId));
    return raw === undefined ? undefined : (JSON.parse(raw) as StoredPresence);
  }

  async getMany(scope: ProjectScope, playerIds: readonly string[]): Promise<Map<string, StoredPresence>> {
    const values = await Promise.all(playerIds.map((id) => this.get(scope, id)));
    const found = new Map<string, StoredPresence>();
    playerIds.forEach((id, i) => {
      if (values[i]) found.set(id, values[i]);
    });
    return found;
  }

  async put(scope: ProjectScope, playerId: string, presence: StoredPresence): Promise<void> {
    await this.cache.putValue(key(scope, playerId), JSON.stringify(presence), KEPT_MS);
  }
}

function key(scope: ProjectScope, playerId: string): string {
  return `{${scope.tenantId}}:${scope.projectId}:presence:${playerId}`;
}
