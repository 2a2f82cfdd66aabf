/** What the presence module offers the others (the only file of this folder another module may import). */
import type { ProjectScope } from '../../http/auth-context.js';
import type { SessionRef } from '../realtime/api.js';

/** A player's presence as clients see it. */
export interface Presence {
  player_id: string;
  username: string | null;
  online: boolean;
  /** `online` (set on connect), `away`, or any text of 1–128 bytes; null while offline. */
  status: string | null;
  /** A JSON object of at most 1 KiB, or null; cleared when the player goes offline. */
  meta: Record<string, unknown> | null;
  updated_at: string | null;
  /** When the player's last session ended (null while none has). */
  last_seen_at: string | null;
}

/**
 * Who else may see a player's presence, beyond friends: party members (parties), members of a channel the
 * session joined (chat). Registered by those modules; asked on every push and every subscribe.
 */
export interface PresenceAudience {
  /** Players (other than `playerId`) who get its pushes: e.g. its party's members. */
  audienceOf(scope: ProjectScope, playerId: string): Promise<readonly string[]>;
  /** Of `playerIds`, those this session may subscribe to through this relation. */
  followable(session: SessionRef, playerIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/**
 * The realtime signal (RealtimeApi.signal) a module sends to a player's sessions when a relation its audience
 * answers for has ended (a player left a party or a channel): those sessions check their subscriptions again.
 */
export const PRESENCE_RECHECK_SIGNAL = 'presence.recheck';

export interface PresenceApi {
  /** The presence of these players (unknown ids are absent). */
  presences(scope: ProjectScope, playerIds: readonly string[]): Promise<Map<string, Presence>>;
  addAudience(audience: PresenceAudience): void;
}

declare module '../contract.js' {
  interface Provisions {
    presence: PresenceApi;
  }
}
