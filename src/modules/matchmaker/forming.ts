/**
 * The rules that form matches from a pool's searching tickets (the public API contract): one matcher pass as a
 * pure function. Same inputs, same matches, whatever the order the tickets come in; nothing is read from outside
 * (the caller passes the clock).
 *
 * Cost of one pass over n tickets, each accepting at most R regions, with S distinct party sizes and P = maxPlayers:
 * O(n log n) to order the tickets by age and by skill and deal them into lanes (one per equal-property values,
 * region and party size), then, for each anchor and each of its regions, O(S log n) to find the anchor's skill in
 * its lanes and O(S) for each ticket that joins its group (at most P of them). Placed tickets leave the lanes
 * lazily, each lane entry at most once (O(n·R) in all), and are skipped through next pointers with path halving.
 * In all O(n log n + n·R·S·(log n + P)): the walk outward from an anchor reads only tickets that join its group,
 * never a skill window ticket by ticket, so a crowded window, or one that fails to fill, costs no more than a
 * small one. (10,000 one-player tickets, 4-player matches: a few tens of milliseconds on a slow 2-core machine.)
 */

import type { FormedMatch, PoolRules, SearchingTicket } from './forming-types.js';
import { LivePositions } from './live-positions.js';

export type { FormedMatch, PoolRules, SearchingTicket } from './forming-types.js';

const MS_PER_SECOND = 1_000;

/**
 * How long a ticket has searched. A ticket stamped a little ahead of this node's clock (another node's clock ran
 * ahead) has waited nothing yet, not a negative time that would shrink its window below windowStart.
 */
export function ageSeconds(ticket: Pick<SearchingTicket, 'createdAtMs'>, nowMs: number): number {
  return Math.max(0, (nowMs - ticket.createdAtMs) / MS_PER_SECOND);
}

/** window(t) = min(windowStart + growthPerSecond × ageSeconds(t), windowMax ?? Infinity) */
export function skillWindow(rules: PoolRules, ticket: SearchingTicket, nowMs: number): number {
  const { windowStart, growthPerSecond, windowMax } = rules.skill;
  return Math.min(windowStart + growthPerSecond * ageSeconds(ticket, nowMs), windowMax ?? Infinity);
}

/** Ticket ids are decimal digits without leading zeros: a shorter one is smaller, then digit by digit (as SQL orders them). */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A ticket's value of an equal property; an absent key (or one only inherited, like "constructor") is null. */
export function propertyValue(ticket: SearchingTicket, key: string): string | number | null {
  return Object.hasOwn(ticket.properties, key) ? (ticket.properties[key] ?? null) : null;
}

/** One matcher pass over a pool's searching tickets. Same inputs → same output, whatever the input order. */
export function formMatches(rules: PoolRules, tickets: readonly SearchingTicket[], nowMs: number): FormedMatch[] {
  const pool = indexPool(rules, tickets);
  const matches: FormedMatch[] = [];
  // Rules 1 and 6: each unplaced ticket is the anchor once, oldest first; one that forms nothing stays searching
  // (and a candidate for the younger anchors after it).
  for (let anchor = 0; anchor < pool.tickets.length; anchor++) {
    if (pool.placed[anchor] === 1) continue;
    const match = matchFor(pool, anchor, nowMs);
    if (match) {
      place(pool, match.group);
      matches.push(toFormedMatch(pool, match));
    }
  }
  return matches;
}

/**
 * The tickets of one party size that accept one region with one set of equal-property values. Splitting by size
 * lets the walk drop a whole lane once the group has no room for its size, so it never reads a ticket that would
 * be skipped for its size. A placed ticket is removed from a lane's lists lazily, when a walk first meets it there
 * (a ticket accepting several regions sits in several lanes; the placed flag is what all of them read).
 */
interface Lane {
  size: number;
  /** Ranks by skill ascending, ties oldest first: read forward, the walk towards higher skill. */
  up: Int32Array;
  upLive: LivePositions;
  /** Ranks by skill descending, ties oldest first: read forward, the walk towards lower skill. */
  down: Int32Array;
  downLive: LivePositions;
}

/** A pass's tickets by rank (their oldest-first position) and the lanes that find candidates. */
interface IndexedPool {
  rules: PoolRules;
  tickets: SearchingTicket[];
  skills: Float64Array;
  sizes: Int32Array;
  /** The equal-property key of each ticket: two tickets match on equal properties exactly when their keys are equal. */
  keys: string[];
  /** Lanes by bucketOf(equal-property key, region). */
  buckets: Map<string, Lane[]>;
  placed: Uint8Array;
}

/** A property key never holds a line feed (strings in it are JSON), so this names one key and region pair. */
function bucketOf(key: string, region: string): string {
  return `${key}\n${region}`;
}

function indexPool(rules: PoolRules, input: readonly SearchingTicket[]): IndexedPool {
  const tickets = Array.from(ageOrder(input), (position) => input[position]!);
  const n = tickets.length;
  const skills = new Float64Array(n);
  const sizes = new Int32Array(n);
  const keys: string[] = [];
  const ranks = new Int32Array(n);
  for (let rank = 0; rank < n; rank++) {
    const ticket = tickets[rank]!;
    skills[rank] = ticket.skill;
    sizes[rank] = ticket.players.length;
    keys.push(propertyKey(rules.equalProperties, ticket, rank));
    ranks[rank] = rank;
  }
  // One sort by skill, ties oldest first, deals every lane its tickets already in the upward order.
  ranks.sort((a, b) => skills[a]! - skills[b]! || a - b);
  const dealt = new Map<string, number[][]>();
  for (const rank of ranks) {
    // A skill that is not finite is within no window (NaN compares false; ∞ − ∞ is NaN): never a candidate.
    if (!Number.isFinite(skills[rank])) continue;
    const { regions } = tickets[rank]!;
    for (let i = 0; i < regions.length; i++) {
      if (!isFirstOccurrence(regions, i)) continue;
      const bucket = bucketOf(keys[rank]!, regions[i]!);
      let bySize = dealt.get(bucket);
      if (bySize === undefined) dealt.set(bucket, (bySize = []));
      (bySize[sizes[rank]!] ??= []).push(rank);
    }
  }
  const buckets = new Map<string, Lane[]>();
  for (const [bucket, bySize] of dealt) {
    const lanes: Lane[] = [];
    bySize.forEach((upward, size) => lanes.push(buildLane(size, upward, skills)));
    buckets.set(bucket, lanes);
  }
  return { rules, tickets, skills, sizes, keys, buckets, placed: new Uint8Array(n) };
}

/** The input's positions, oldest ticket first (sorting positions in a typed array is about twice as fast). */
function ageOrder(input: readonly SearchingTicket[]): Int32Array {
  const n = input.length;
  const created = new Float64Array(n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    created[i] = input[i]!.createdAtMs;
    order[i] = i;
  }
  // Ids are compared only for tickets created in the same millisecond, so their order costs next to nothing.
  return order.sort((a, b) => {
    if (created[a] !== created[b]) return created[a]! < created[b]! ? -1 : 1;
    return compareIds(input[a]!.id, input[b]!.id);
  });
}

/** Whether a list's item at an index is its first occurrence (a region named twice is tried once). */
function isFirstOccurrence(items: readonly string[], index: number): boolean {
  return items.indexOf(items[index]!) === index;
}

/** A lane from its ranks in upward order (skill ascending, ties oldest first). */
function buildLane(size: number, upward: readonly number[], skills: Float64Array): Lane {
  const up = Int32Array.from(upward);
  // Downward: the runs of equal skill in reverse order, each run still oldest first.
  const down = new Int32Array(up.length);
  let written = 0;
  for (let end = up.length; end > 0; ) {
    const skill = skills[up[end - 1]!]!;
    let start = end - 1;
    while (start > 0 && skills[up[start - 1]!] === skill) start--;
    down.set(up.subarray(start, end), written);
    written += end - start;
    end = start;
  }
  return { size, up, upLive: new LivePositions(up.length), down, downLive: new LivePositions(down.length) };
}

/**
 * Encodes the values with their types (number 1 and string "1" differ; missing is null), so strict equality of
 * the values is equality of the keys. NaN equals nothing, not even NaN: such a ticket gets a key of its own.
 */
function propertyKey(keys: readonly string[], ticket: SearchingTicket, rank: number): string {
  let encoded = '';
  for (const key of keys) {
    const value = propertyValue(ticket, key);
    if (value === null) encoded += 'n;';
    else if (typeof value === 'number') {
      if (Number.isNaN(value)) return `#${rank}`;
      encoded += `d${value};`;
    } else encoded += `s${JSON.stringify(value)};`;
  }
  return encoded;
}

interface GroupFound {
  anchor: number;
  region: string;
  /** Ranks in join order, the anchor first. */
  group: number[];
  teams: number[][];
}

/** Rules 2–5 for one anchor: its regions in order; the first that yields a match wins. */
function matchFor(pool: IndexedPool, anchor: number, nowMs: number): GroupFound | undefined {
  const { rules } = pool;
  const ticket = pool.tickets[anchor]!;
  // A ticket larger than the match can never be in one (tickets are checked elsewhere; this keeps the rule whole).
  if (pool.sizes[anchor]! > rules.maxPlayers) return undefined;
  const window = skillWindow(rules, ticket, nowMs);
  const waitedToFill = rules.teams === null && rules.fillAfterSeconds !== null && ageSeconds(ticket, nowMs) >= rules.fillAfterSeconds;
  for (let i = 0; i < ticket.regions.length; i++) {
    if (!isFirstOccurrence(ticket.regions, i)) continue;
    const region = ticket.regions[i]!;
    const { ranks: group, players } = fill(pool, anchor, pool.buckets.get(bucketOf(pool.keys[anchor]!, region)) ?? [], window);
    const complete = players === rules.maxPlayers || (waitedToFill && players >= rules.minPlayers);
    if (!complete) continue;
    const teams = rules.teams ? balanceTeams(pool, group, rules.teams) : [group];
    if (teams) return { anchor, region, group, teams };
  }
  return undefined;
}

/** A group as filling left it: ranks in join order, the anchor first, and their players. */
interface Group {
  ranks: number[];
  players: number;
}

/** A walk from the anchor's skill along one lane, in one direction; rank is the next candidate, or -1 when done. */
interface Cursor {
  lane: Lane;
  upward: boolean;
  position: number;
  rank: number;
}

/**
 * Rule 3, filling: candidates join nearest skill first (ties: oldest first, then id, which is rank order), while
 * the group stays within maxPlayers and its skill spread within the anchor's window. A candidate that would break
 * either bound is skipped and filling goes on with the next one; filling stops at maxPlayers players.
 *
 * Each lane is walked outward from the anchor's skill, one cursor per direction, and the cursors are merged by
 * (distance, rank). A cursor is dropped for good as soon as its next candidate breaks a bound, because every
 * later one breaks it too: further out is out of the window; further out in one direction only widens the spread
 * (the group's far end on the other side can only move further away); and the room left only shrinks. So every
 * candidate read joins, and skipping is dropping lanes and directions.
 *
 * Distances are compared as computed (|skill − anchor skill|, rounded), like the rule reads. Within one direction
 * a larger distance is never met before a smaller one (rounding is monotonic); two different skills on one side
 * at the very same rounded distance (skills near ±1e9 differing by less than 1e-7) would go nearest-skill-first
 * rather than oldest first.
 */
function fill(pool: IndexedPool, anchor: number, lanes: readonly Lane[], window: number): Group {
  const { skills, sizes } = pool;
  const maxPlayers = pool.rules.maxPlayers;
  const skill = skills[anchor]!;
  const group = [anchor];
  let players = sizes[anchor]!;
  // NaN in the anchor's skill or window: nothing is within it (every comparison with NaN is false).
  if (!Number.isFinite(skill) || !(window >= 0)) return { ranks: group, players };
  let low = skill;
  let high = skill;
  const cursors = openCursors(pool, lanes, anchor, maxPlayers - players);
  while (players < maxPlayers) {
    let best: Cursor | undefined;
    let bestDistance = Infinity;
    for (const cursor of cursors) {
      if (cursor.rank < 0) continue;
      const candidate = skills[cursor.rank]!;
      const distance = cursor.upward ? candidate - skill : skill - candidate;
      const spreadBreaks = cursor.upward ? candidate - low > window : high - candidate > window;
      if (distance > window || spreadBreaks || cursor.lane.size > maxPlayers - players) {
        cursor.rank = -1;
        continue;
      }
      if (best === undefined || distance < bestDistance || (distance === bestDistance && cursor.rank < best.rank)) {
        best = cursor;
        bestDistance = distance;
      }
    }
    if (best === undefined) break;
    const joining = best.rank;
    group.push(joining);
    players += sizes[joining]!;
    low = Math.min(low, skills[joining]!);
    high = Math.max(high, skills[joining]!);
    advance(best, pool, anchor, best.position + 1);
  }
  return { ranks: group, players };
}

function openCursors(pool: IndexedPool, lanes: readonly Lane[], anchor: number, room: number): Cursor[] {
  const { skills } = pool;
  const skill = skills[anchor]!;
  const cursors: Cursor[] = [];
  for (const lane of lanes) {
    if (lane.size > room) continue;
    // Equal skills are distance 0 and go with the upward walk, which reads them oldest first.
    const up: Cursor = { lane, upward: true, position: 0, rank: -1 };
    advance(up, pool, anchor, firstReaching(lane.up, skills, skill, true));
    const down: Cursor = { lane, upward: false, position: 0, rank: -1 };
    advance(down, pool, anchor, firstReaching(lane.down, skills, skill, false));
    cursors.push(up, down);
  }
  return cursors;
}

/**
 * Moves a cursor to the first unplaced ticket at or after a position, passing over the anchor itself. A placed
 * ticket met on the way is removed from the list for good, so no walk reads it again.
 */
function advance(cursor: Cursor, pool: IndexedPool, anchor: number, from: number): void {
  const list = cursor.upward ? cursor.lane.up : cursor.lane.down;
  const live = cursor.upward ? cursor.lane.upLive : cursor.lane.downLive;
  let position = live.first(from);
  while (position < list.length) {
    const rank = list[position]!;
    if (pool.placed[rank] === 1) live.remove(position);
    else if (rank !== anchor) break;
    position = live.first(position + 1);
  }
  cursor.position = position;
  cursor.rank = position < list.length ? list[position]! : -1;
}

/**
 * Where a walk from a skill starts in a lane's list: upward, the first ticket at or above it; downward, the first
 * below it (a binary search: the list is sorted in the walk's direction).
 */
function firstReaching(list: Int32Array, skills: Float64Array, skill: number, upward: boolean): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const other = skills[list[middle]!]!;
    if (upward ? other >= skill : other < skill) high = middle;
    else low = middle + 1;
  }
  return low;
}

interface Team {
  members: number[];
  skillSum: number;
  players: number;
}

/**
 * Rule 5: tickets in descending skill × players (ties: oldest first, then id), each into the team with the lowest
 * skill sum that has room for all its players (ties: fewer players, then lower index). Undefined when the group
 * does not fill every team exactly: then it is no match for this region.
 */
function balanceTeams(pool: IndexedPool, group: readonly number[], shape: { count: number; size: number }): number[][] | undefined {
  const weight = (rank: number) => pool.skills[rank]! * pool.sizes[rank]!;
  const order = [...group].sort((a, b) => weight(b) - weight(a) || a - b);
  const teams: Team[] = Array.from({ length: shape.count }, () => ({ members: [], skillSum: 0, players: 0 }));
  for (const rank of order) {
    const size = pool.sizes[rank]!;
    let chosen: Team | undefined;
    for (const team of teams) {
      if (team.players + size > shape.size) continue;
      // Teams are scanned by index, so only a strictly better team replaces the chosen one.
      if (chosen === undefined || team.skillSum < chosen.skillSum || (team.skillSum === chosen.skillSum && team.players < chosen.players)) {
        chosen = team;
      }
    }
    if (chosen === undefined) return undefined;
    chosen.members.push(rank);
    chosen.skillSum += weight(rank);
    chosen.players += size;
  }
  return teams.every((team) => team.players === shape.size) ? teams.map((team) => team.members) : undefined;
}

/** Rule 4's last step: a match's tickets are no longer candidates (the lanes drop them as walks meet them). */
function place(pool: IndexedPool, group: readonly number[]): void {
  for (const rank of group) pool.placed[rank] = 1;
}

function toFormedMatch(pool: IndexedPool, found: GroupFound): FormedMatch {
  const anchor = pool.tickets[found.anchor]!;
  const ticketOf = (rank: number) => pool.tickets[rank]!;
  return {
    anchorId: anchor.id,
    region: found.region,
    tickets: found.group.map(ticketOf),
    teams: found.teams.map((members, index) => ({
      index,
      ticketIds: members.map((rank) => ticketOf(rank).id),
      players: members.flatMap((rank) => ticketOf(rank).players),
    })),
    properties: Object.fromEntries(pool.rules.equalProperties.map((key) => [key, propertyValue(anchor, key)])),
  };
}
