/**
 * What the social module offers the others (the only file of this folder another module may import): who
 * is whose friend, who blocked whom, and a signal after every committed change between two players. Parties,
 * presence and chat ask it before they let two players reach each other.
 */
import type { ProjectScope } from '../../http/auth-context.js';

/** A relation as one player sees another. `blocked`: this player blocked the other. */
export type RelationState = 'friend' | 'invite_received' | 'invite_sent' | 'blocked';
/** `none` also stands for "the other player blocked this one": a block is never shown to the blocked. */
export type RelationView = RelationState | 'none';

/**
 * The realtime signal (RealtimeApi.onSignal) sent to both players' sessions, on every node, after each
 * committed change between them: `{type, a, b}`, `a` the player who acted. A module that keeps something per
 * session about a relation (presence subscriptions, a cached block list) refreshes it there.
 */
export const RELATION_SIGNAL = 'social.relation';

/** Hears a committed change between players `a` (who acted) and `b`, on this node. */
export type RelationListener = (scope: ProjectScope, a: string, b: string) => void | Promise<void>;

/**
 * Fills the `presence` of friend relations (the presence module plugs it in): the presence of each of these
 * players, by id; a player missing from the answer shows `presence: null`.
 */
export type PresenceSource = (scope: ProjectScope, playerIds: readonly string[]) => Promise<ReadonlyMap<string, Record<string, unknown>>>;

export interface SocialApi {
  /** The relation as `a` sees `b` (`none` when there is none, or when `b` blocked `a`). */
  relation(scope: ProjectScope, a: string, b: string): Promise<RelationView>;
  /** True when either player blocked the other. */
  blockedEither(scope: ProjectScope, a: string, b: string): Promise<boolean>;
  /** The players this player has blocked. */
  blockedBy(scope: ProjectScope, playerId: string): Promise<string[]>;
  /** The players who have blocked this player (never to be shown to it). */
  blockersOf(scope: ProjectScope, playerId: string): Promise<string[]>;
  /** This player's friends. */
  friendIds(scope: ProjectScope, playerId: string): Promise<string[]>;
  /**
   * Adds a listener called on this node after each committed change between two players (a request, an
   * accept, a decline, a removal, a block, an unblock). Failures are logged; the change stands.
   */
  onRelationChanged(listener: RelationListener): void;
  /** Plugs in the presence shown on friend relations (one source; a second call replaces it). */
  usePresence(source: PresenceSource): void;
}

declare module '../contract.js' {
  interface Provisions {
    social: SocialApi;
  }
}
