/**
 * The whole sort key of a record as fixed-width unsigned 64-bit parts, so that plain byte order (Redis'
 * lexicographic order, memcmp) and plain unsigned order (the in-process tree) are both exactly the rank order:
 *
 *   [ordered score][ordered subscore][seq][player id]
 *
 * "Ordered" maps a signed value onto 0..2^64-1 in the board's direction: ascending boards add 2^63 (so
 * -2^63 → 0), descending boards take 2^63-1 minus the value (so 2^63-1 → 0). The sequence breaks ties in
 * favour of whoever reached the score first and makes every key unique; the player id names the member.
 * Redis scores are doubles and cannot hold 64 bits exactly, hence all members score 0 and order by bytes.
 */
export interface RankEntry {
  playerId: string;
  score: bigint;
  subscore: bigint;
  /** Tie-break and version: greater for every later write of the same record. */
  seq: bigint;
}

export interface RankedEntry extends RankEntry {
  /** 1-based. */
  rank: number;
}

const BIAS = 2n ** 63n;

export function toOrdered(value: bigint, descending: boolean): bigint {
  return descending ? BIAS - 1n - value : value + BIAS;
}

export function fromOrdered(ordered: bigint, descending: boolean): bigint {
  return descending ? BIAS - 1n - ordered : ordered - BIAS;
}

const hex16 = (value: bigint): string => value.toString(16).padStart(16, '0');

/** The member string: 48 hex digits of (score, subscore, seq), then the player id in decimal. */
export function memberOf(entry: RankEntry, descending: boolean): string {
  return hex16(toOrdered(entry.score, descending)) + hex16(toOrdered(entry.subscore, descending)) + hex16(entry.seq) + entry.playerId;
}

export const MEMBER_PATTERN = /^[0-9a-f]{48}[1-9][0-9]{0,18}$/;

export function entryOfMember(member: string, descending: boolean): RankEntry {
  return {
    score: fromOrdered(BigInt('0x' + member.slice(0, 16)), descending),
    subscore: fromOrdered(BigInt('0x' + member.slice(16, 32)), descending),
    seq: BigInt('0x' + member.slice(32, 48)),
    playerId: member.slice(48),
  };
}

/** The seq part of a member (its version), as the fixed-width hex the Lua scripts compare. */
export const versionHex = (seq: bigint): string => hex16(seq);
