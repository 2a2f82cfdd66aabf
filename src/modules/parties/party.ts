/**
 * A party as the store keeps it, and the pure rules on it: live invites, the leader handover order, the
 * earliest disconnect deadline, and the party as clients see it. Times are epoch milliseconds here and
 * RFC 3339 strings in what clients get.
 */
import { randomBytes } from 'node:crypto';

export interface StoredMember {
  player_id: string;
  joined_at: number;
  /** When an offline member leaves with reason `disconnected` (null while it is online). */
  offline_deadline: number | null;
}

export interface StoredInvite {
  player_id: string;
  expires_at: number;
  /** Who invited (the notification and the event name them). */
  from: string;
}

export interface PartyDoc {
  id: string;
  leader_id: string;
  open: boolean;
  max_size: number;
  label: string | null;
  members: StoredMember[];
  invites: StoredInvite[];
  /** Grows with every change clients can see. */
  version: number;
  /** Grows with every write (also the deadline bookkeeping clients never see): the compare-and-set token. */
  rev: number;
  created_at: number;
}

export interface MemberView {
  player_id: string;
  username: string | null;
  joined_at: string;
  connected: boolean;
}

export interface PartyView {
  id: string;
  leader_id: string;
  open: boolean;
  max_size: number;
  label: string | null;
  members: MemberView[];
  invites: { player_id: string; expires_at: string }[];
  version: number;
  created_at: string;
}

export const PARTY_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MIN_SIZE = 2;
export const MAX_SIZE = 16;
export const DEFAULT_SIZE = 4;
export const MAX_LABEL_BYTES = 64;

export const newPartyId = (): string => randomBytes(16).toString('base64url');

export const iso = (ms: number): string => new Date(ms).toISOString();

/** Byte-wise order of two strings (ids are ASCII, so code units order them the same way). */
export const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function liveInvites(party: PartyDoc, now: number): StoredInvite[] {
  return party.invites.filter((invite) => invite.expires_at > now);
}

export function isMember(party: PartyDoc, playerId: string): boolean {
  return party.members.some((member) => member.player_id === playerId);
}

/** The next leader among the remaining members: connected first, then earliest joined, then smallest id. */
export function nextLeader(members: readonly StoredMember[], online: ReadonlySet<string>): string | undefined {
  const ranked = [...members].sort(
    (a, b) => Number(online.has(b.player_id)) - Number(online.has(a.player_id)) || a.joined_at - b.joined_at || byteOrder(a.player_id, b.player_id),
  );
  return ranked[0]?.player_id;
}

/** The earliest disconnect deadline among the members (null when none is offline). */
export function earliestDeadline(party: PartyDoc): number | null {
  let earliest: number | null = null;
  for (const member of party.members) {
    if (member.offline_deadline !== null && (earliest === null || member.offline_deadline < earliest)) earliest = member.offline_deadline;
  }
  return earliest;
}

export function viewOf(party: PartyDoc, usernames: ReadonlyMap<string, string | null>, online: ReadonlySet<string>, now: number): PartyView {
  return {
    id: party.id,
    leader_id: party.leader_id,
    open: party.open,
    max_size: party.max_size,
    label: party.label,
    members: party.members.map((member) => memberView(member, usernames, online)),
    invites: liveInvites(party, now).map((invite) => ({ player_id: invite.player_id, expires_at: iso(invite.expires_at) })),
    version: party.version,
    created_at: iso(party.created_at),
  };
}

export function memberView(member: StoredMember, usernames: ReadonlyMap<string, string | null>, online: ReadonlySet<string>): MemberView {
  return {
    player_id: member.player_id,
    username: usernames.get(member.player_id) ?? null,
    joined_at: iso(member.joined_at),
    connected: online.has(member.player_id),
  };
}
