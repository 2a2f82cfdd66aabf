/** A relation as clients see it (REST answers), with the presence of friends when a source is plugged in. */
import type { ProjectScope } from '../../http/auth-context.js';
import type { PlayerSummary } from '../auth/api.js';
import type { PresenceSource, RelationState } from './api.js';
import type { RelationRow } from './relation-store.js';

export interface RelationJson {
  player: { id: string; username: string | null };
  state: RelationState;
  updated_at: string;
  /** Only ever set for `friend`, and only once the presence module plugs in its source. */
  presence: Record<string, unknown> | null;
}

export class RelationViews {
  private presence: PresenceSource | undefined;

  usePresence(source: PresenceSource): void {
    this.presence = source;
  }

  /** The rows as clients see them; `players` must hold every other player's summary (usernames). */
  async render(scope: ProjectScope, rows: readonly RelationRow[], players: ReadonlyMap<string, PlayerSummary>): Promise<RelationJson[]> {
    const friends = rows.filter((row) => row.state === 'friend').map((row) => String(row.other_id));
    const presence = this.presence && friends.length > 0 ? await this.presence(scope, friends) : undefined;
    return rows.map((row) => {
      const id = String(row.other_id);
      return {
        player: { id, username: players.get(id)?.username ?? null },
        state: row.state,
        updated_at: new Date(row.updated_at).toISOString(),
        presence: row.state === 'friend' ? (presence?.get(id) ?? null) : null,
      };
    });
  }
}
