/**
 * What the parties module offers the others (the only file of this folder another module may import): who
 * is in which party, and a listener after every change of a party's members (the matchmaker cancels the
 * tickets of a player who joined or left a party, and the party's own ticket).
 */
import type { ProjectScope } from '../../http/auth-context.js';

/** One committed change of a party's members, heard on the node that made it. */
export interface PartyChange {
  partyId: string;
  /** Players who joined. */
  joined: readonly string[];
  /** Players who left (left, kicked or disconnected). */
  left: readonly string[];
  /** True when the last member left and the party closed. */
  closed: boolean;
}

export type PartyChangeListener = (scope: ProjectScope, change: PartyChange) => void | Promise<void>;

export interface PartiesApi {
  /** The id of the player's party, if it is in one. */
  partyOf(scope: ProjectScope, playerId: string): Promise<string | undefined>;
  /** The party's leader (undefined when there is no such party). */
  leaderOf(scope: ProjectScope, partyId: string): Promise<string | undefined>;
  /** The ids of a party's members (empty when there is no such party). */
  membersOf(scope: ProjectScope, partyId: string): Promise<string[]>;
  /** Adds a listener called after each committed join or leave (failures are logged; the change stands). */
  onPartyChanged(listener: PartyChangeListener): void;
}

declare module '../contract.js' {
  interface Provisions {
    parties: PartiesApi;
  }
}
