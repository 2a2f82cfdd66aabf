/**
 * The rules that form matches (src/modules/matchmaker/forming.ts), one rule at a time on small pools built to
 * break a wrong reading of it, then over random pools: no ticket in two matches, every match within its bounds,
 * the same matches whatever the input order, and the same matches as a plain O(n²) reading of the rules (written
 * here, below) on random pools of every shape and on 400-ticket pools; and a 10,000-ticket pass that finishes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formMatches, skillWindow, type FormedMatch, type PoolRules, type SearchingTicket } from '../../src/modules/matchmaker/forming.js';

const NOW = 1_700_000_000_000;

function rulesWith(overrides: Partial<PoolRules> = {}): PoolRules {
  return {
    minPlayers: 2,
    maxPlayers: 2,
    teams: null,
    skill: { windowStart: 100, growthPerSecond: 0, windowMax: null },
    fillAfterSeconds: null,
    regions: null,
    equalProperties: [],
    ...overrides,
  };
}

interface TicketSpec {
  skill?: number;
  /** How long before NOW it was created (fractions allowed). */
  age?: number;
  players?: number;
  regions?: string[];
  properties?: Record<string, string | number>;
}

function ticket(id: string, spec: TicketSpec = {}): SearchingTicket {
  return {
    id,
    createdAtMs: NOW - (spec.age ?? 0) * 1_000,
    players: Array.from({ length: spec.players ?? 1 }, (_, i) => `${id}:${i}`),
    skill: spec.skill ?? 1_000,
    regions: spec.regions ?? ['eu'],
    properties: spec.properties ?? {},
  };
}

/** Each match as its region and ticket ids in join order. */
function shapes(matches: readonly FormedMatch[]): { region: string; tickets: string[] }[] {
  return matches.map((match) => ({ region: match.region, tickets: match.tickets.map((t) => t.id) }));
}

function teamsOf(match: FormedMatch | undefined): string[][] {
  assert.ok(match, 'a match');
  return match.teams.map((team) => team.ticketIds);
}

describe('the skill window', () => {
  const rules = rulesWith({ skill: { windowStart: 100, growthPerSecond: 10, windowMax: 250 } });

  it('starts at windowStart, widens by growthPerSecond each second of age, and stops at windowMax', () => {
    assert.equal(skillWindow(rules, ticket('a', { age: 0 }), NOW), 100);
    assert.equal(skillWindow(rules, ticket('a', { age: 5 }), NOW), 150);
    assert.equal(skillWindow(rules, ticket('a', { age: 2.5 }), NOW), 125);
    assert.equal(skillWindow(rules, ticket('a', { age: 15 }), NOW), 250);
    assert.equal(skillWindow(rules, ticket('a', { age: 3_600 }), NOW), 250);
  });

  it('has no cap when windowMax is null', () => {
    const uncapped = rulesWith({ skill: { windowStart: 100, growthPerSecond: 10, windowMax: null } });
    assert.equal(skillWindow(uncapped, ticket('a', { age: 3_600 }), NOW), 36_100);
  });

  it('is windowStart for a ticket stamped ahead of the clock (no negative wait)', () => {
    assert.equal(skillWindow(rules, ticket('a', { age: -5 }), NOW), 100);
  });

  it('is the anchor’s window that decides: a skill out of reach now is reached once the anchor has waited', () => {
    const pool = (anchorAge: number) => [ticket('a', { age: anchorAge, skill: 1_000 }), ticket('b', { skill: 1_180 })];
    const growing = rulesWith({ skill: { windowStart: 100, growthPerSecond: 10, windowMax: null } });
    assert.deepEqual(shapes(formMatches(growing, pool(7), NOW)), []);
    assert.deepEqual(shapes(formMatches(growing, pool(8), NOW)), [{ region: 'eu', tickets: ['a', 'b'] }]);
    const capped = rulesWith({ skill: { windowStart: 100, growthPerSecond: 10, windowMax: 150 } });
    assert.deepEqual(shapes(formMatches(capped, pool(3_600), NOW)), []);
  });
});

describe('anchoring', () => {
  it('anchors the oldest ticket first', () => {
    const rules = rulesWith({ skill: { windowStart: 50, growthPerSecond: 0, windowMax: null } });
    const tickets = [ticket('c', { age: 10, skill: 1_080 }), ticket('b', { age: 20, skill: 1_040 }), ticket('a', { age: 30, skill: 1_000 })];
    assert.deepEqual(shapes(formMatches(rules, tickets, NOW)), [{ region: 'eu', tickets: ['a', 'b'] }]);
  });

  it('breaks an age tie by id, as the database orders decimal ids (9 before 10)', () => {
    const rules = rulesWith({ skill: { windowStart: 60, growthPerSecond: 0, windowMax: null } });
    // Whichever of the two equally old tickets anchors takes z (50 away from both); the other is left alone.
    const pool = (first: string, second: string) => [ticket(second, { age: 5, skill: 1_100 }), ticket(first, { age: 5, skill: 1_000 }), ticket('z', { skill: 1_050 })];
    assert.deepEqual(shapes(formMatches(rules, pool('9', '10'), NOW)), [{ region: 'eu', tickets: ['9', 'z'] }]);
    assert.deepEqual(shapes(formMatches(rules, pool('123', '124'), NOW)), [{ region: 'eu', tickets: ['123', 'z'] }]);
  });

  it('leaves an anchor that forms nothing searching; the next oldest anchors, and may take it', () => {
    const rules = rulesWith({ maxPlayers: 3, minPlayers: 3 });
    // a takes x (nearest), then the pair y does not fit: a fails. x takes a, y does not fit: x fails. y takes a
    // (nearer to it than x).
    const tickets = [ticket('a', { age: 3, skill: 1_000 }), ticket('x', { age: 2, skill: 990 }), ticket('y', { age: 1, skill: 1_050, players: 2 })];
    const matches = formMatches(rules, tickets, NOW);
    assert.deepEqual(shapes(matches), [{ region: 'eu', tickets: ['y', 'a'] }]);
    assert.equal(matches[0]?.anchorId, 'y');
  });

  it('gives the same matches whatever the order of its input', () => {
    const rules = rulesWith({ minPlayers: 2, maxPlayers: 4, fillAfterSeconds: 20, skill: { windowStart: 50, growthPerSecond: 5, windowMax: 300 } });
    const tickets = randomPool(7, 300, 'mixed');
    const expected = formMatches(rules, tickets, NOW);
    assert.ok(expected.length > 10, 'the pool forms matches');
    const random = mulberry32(99);
    for (let i = 0; i < 5; i++) assert.deepEqual(formMatches(rules, shuffle(tickets, random), NOW), expected);
    assert.deepEqual(formMatches(rules, [...tickets].reverse(), NOW), expected);
  });
});

describe('regions', () => {
  it('tries the anchor’s regions in its order: the first that yields a match wins, even with a nearer skill later', () => {
    const tickets = [ticket('a', { age: 9, regions: ['us', 'eu'] }), ticket('near', { skill: 1_000, regions: ['eu'] }), ticket('far', { skill: 1_090, regions: ['us'] })];
    assert.deepEqual(shapes(formMatches(rulesWith(), tickets, NOW)), [{ region: 'us', tickets: ['a', 'far'] }]);
  });

  it('goes on to the next region when one yields no match, and only takes tickets that accept the region', () => {
    const tickets = [ticket('a', { age: 9, regions: ['eu', 'us'] }), ticket('b', { regions: ['us'] }), ticket('c', { regions: ['asia'] })];
    assert.deepEqual(shapes(formMatches(rulesWith(), tickets, NOW)), [{ region: 'us', tickets: ['a', 'b'] }]);
    assert.deepEqual(shapes(formMatches(rulesWith(), [ticket('a', { regions: ['eu'] }), ticket('b', { regions: ['us'] })], NOW)), []);
  });

  it('does not offer a ticket placed through one region again through another', () => {
    const tickets = [
      ticket('a', { age: 9, regions: ['eu'] }),
      ticket('both', { age: 8, regions: ['eu', 'us'] }),
      ticket('c', { age: 7, regions: ['us'] }),
      ticket('d', { age: 6, skill: 1_050, regions: ['us'] }),
    ];
    assert.deepEqual(shapes(formMatches(rulesWith(), tickets, NOW)), [
      { region: 'eu', tickets: ['a', 'both'] },
      { region: 'us', tickets: ['c', 'd'] },
    ]);
  });
});

describe('equal properties', () => {
  const rules = rulesWith({ equalProperties: ['mode', 'map'] });

  it('takes only tickets with the anchor’s values, compared strictly (1 is not "1"); other keys do not matter', () => {
    const tickets = [
      ticket('a', { age: 9, properties: { mode: 'ranked', map: 1, note: 'x' } }),
      ticket('casual', { properties: { mode: 'casual', map: 1 } }),
      ticket('text', { properties: { mode: 'ranked', map: '1' } }),
      ticket('same', { skill: 1_050, properties: { mode: 'ranked', map: 1, note: 'y' } }),
    ];
    const matches = formMatches(rules, tickets, NOW);
    assert.deepEqual(shapes(matches), [{ region: 'eu', tickets: ['a', 'same'] }]);
    assert.deepEqual(matches[0]?.properties, { mode: 'ranked', map: 1 });
  });

  it('counts a missing value as null: it matches only another missing value', () => {
    const tickets = [
      ticket('a', { age: 9, properties: { mode: 'ranked' } }),
      ticket('has-map', { properties: { mode: 'ranked', map: 'dust' } }),
      ticket('no-map', { skill: 1_040, properties: { mode: 'ranked' } }),
    ];
    const matches = formMatches(rules, tickets, NOW);
    assert.deepEqual(shapes(matches), [{ region: 'eu', tickets: ['a', 'no-map'] }]);
    assert.deepEqual(matches[0]?.properties, { mode: 'ranked', map: null });
  });

  it('does not read a key inherited from Object.prototype as a value', () => {
    const inherited = rulesWith({ equalProperties: ['constructor'] });
    const matches = formMatches(inherited, [ticket('a', { age: 1 }), ticket('b', { properties: { constructor: 'x' } }), ticket('c', { skill: 1_050 })], NOW);
    assert.deepEqual(shapes(matches), [{ region: 'eu', tickets: ['a', 'c'] }]);
    assert.deepEqual(matches[0]?.properties, { constructor: null });
  });
});

describe('filling', () => {
  it('joins the nearest skill first', () => {
    const rules = rulesWith({ minPlayers: 3, maxPlayers: 3 });
    const tickets = [
      ticket('a', { age: 9, skill: 1_000 }),
      ticket('d30', { age: 5, skill: 1_030 }),
      ticket('d20', { age: 1, skill: 980 }),
      ticket('d10', { age: 2, skill: 1_010 }),
      ticket('d50', { age: 8, skill: 1_050 }),
    ];
    assert.deepEqual(shapes(formMatches(rules, tickets, NOW)), [{ region: 'eu', tickets: ['a', 'd10', 'd20'] }]);
  });

  it('breaks a distance tie oldest first, then by id', () => {
    const older = [ticket('a', { age: 9 }), ticket('p', { age: 5, skill: 1_010 }), ticket('q', { age: 8, skill: 990 })];
    assert.deepEqual(shapes(formMatches(rulesWith(), older, NOW)), [{ region: 'eu', tickets: ['a', 'q'] }]);
    const sameAge = [ticket('a', { age: 9 }), ticket('r', { age: 5, skill: 990 }), ticket('p', { age: 5, skill: 1_010 })];
    assert.deepEqual(shapes(formMatches(rulesWith(), sameAge, NOW)), [{ region: 'eu', tickets: ['a', 'p'] }]);
  });

  it('skips a candidate that would stretch the skill spread past the window, and goes on with the next', () => {
    const rules = rulesWith({ minPlayers: 3, maxPlayers: 3 });
    // x joins (spread 60); y and z would make it 130 and 150; w (95 below the anchor) keeps it at 95.
    const tickets = [
      ticket('a', { age: 9, skill: 1_000 }),
      ticket('x', { skill: 940 }),
      ticket('y', { skill: 1_070 }),
      ticket('z', { skill: 1_090 }),
      ticket('w', { skill: 905 }),
    ];
    assert.deepEqual(shapes(formMatches(rules, tickets, NOW)), [{ region: 'eu', tickets: ['a', 'x', 'w'] }]);
  });

  it('skips a party that does not fit in the room left, and goes on with the next (never splitting it)', () => {
    const rules = rulesWith({ minPlayers: 4, maxPlayers: 4 });
    const tickets = [
      ticket('a', { age: 9, skill: 1_000 }),
      ticket('pair', { skill: 1_005, players: 2 }),
      ticket('other-pair', { skill: 1_010, players: 2 }),
      ticket('solo', { skill: 1_020 }),
    ];
    const matches = formMatches(rules, tickets, NOW);
    assert.deepEqual(shapes(matches), [{ region: 'eu', tickets: ['a', 'pair', 'solo'] }]);
    assert.deepEqual(matches[0]?.teams, [{ index: 0, ticketIds: ['a', 'pair', 'solo'], players: ['a:0', 'pair:0', 'pair:1', 'solo:0'] }]);
  });

  it('stops at maxPlayers: the tickets left over form the next match', () => {
    const tickets = ['a', 'b', 'c', 'd'].map((id, i) => ticket(id, { age: 10 - i, skill: 1_000 + i }));
    assert.deepEqual(shapes(formMatches(rulesWith(), tickets, NOW)), [
      { region: 'eu', tickets: ['a', 'b'] },
      { region: 'eu', tickets: ['c', 'd'] },
    ]);
  });

  it('never splits a ticket, even when the rest of it would complete a match', () => {
    const tickets = [ticket('a', { age: 60, players: 2 }), ticket('trio', { players: 3 })];
    assert.deepEqual(shapes(formMatches(rulesWith({ minPlayers: 4, maxPlayers: 4, fillAfterSeconds: 0 }), tickets, NOW)), []);
    const matches = formMatches(rulesWith({ minPlayers: 2, maxPlayers: 4, fillAfterSeconds: 30 }), tickets, NOW);
    assert.deepEqual(shapes(matches), [{ region: 'eu', tickets: ['a'] }]);
    assert.deepEqual(matches[0]?.teams[0]?.players, ['a:0', 'a:1']);
  });
});

describe('completion', () => {
  const three = (anchorAge: number) => [ticket('a', { age: anchorAge }), ticket('b', { skill: 1_010 }), ticket('c', { skill: 1_020 })];

  it('is a match at maxPlayers, whatever the wait', () => {
    assert.deepEqual(shapes(formMatches(rulesWith({ minPlayers: 3, maxPlayers: 3 }), three(0), NOW)), [{ region: 'eu', tickets: ['a', 'b', 'c'] }]);
  });

  it('never completes below maxPlayers when fillAfterSeconds is null', () => {
    assert.deepEqual(formMatches(rulesWith({ minPlayers: 2, maxPlayers: 4 }), three(86_400), NOW), []);
  });

  it('completes at minPlayers or more once the anchor has waited fillAfterSeconds, not before', () => {
    const rules = rulesWith({ minPlayers: 2, maxPlayers: 4, fillAfterSeconds: 30 });
    assert.deepEqual(formMatches(rules, three(29.999), NOW), []);
    assert.deepEqual(shapes(formMatches(rules, three(30), NOW)), [{ region: 'eu', tickets: ['a', 'b', 'c'] }]);
  });

  it('does not complete below minPlayers, however long the anchor has waited', () => {
    const rules = rulesWith({ minPlayers: 3, maxPlayers: 4, fillAfterSeconds: 30 });
    assert.deepEqual(formMatches(rules, [ticket('a', { age: 3_600 }), ticket('b')], NOW), []);
  });
});

describe('teams', () => {
  const teamRules = (count: number, size: number) =>
    rulesWith({ minPlayers: count * size, maxPlayers: count * size, teams: { count, size }, skill: { windowStart: 1_000, growthPerSecond: 0, windowMax: null } });

  it('balances the skill sums: highest first, each into the team with the lowest sum', () => {
    const tickets = [100, 200, 300, 400].map((skill, i) => ticket(`s${skill}`, { age: 10 - i, skill }));
    const matches = formMatches(teamRules(2, 2), tickets, NOW);
    assert.deepEqual(teamsOf(matches[0]), [
      ['s400', 's100'],
      ['s300', 's200'],
    ]);
    assert.deepEqual(matches[0]?.teams[1]?.players, ['s300:0', 's200:0']);
    assert.deepEqual(
      matches[0]?.teams.map((team) => team.index),
      [0, 1],
    );
  });

  it('weighs a ticket by skill × players, ties oldest first; a sum tie goes to fewer players, then the lower index', () => {
    const tickets = [
      ticket('t1', { age: 9, skill: 100, players: 2 }), // 200, older: first, into team 0 (a tie of empty teams)
      ticket('t2', { age: 8, skill: 200 }), // 200: team 1
      ticket('t3', { age: 7, skill: 50 }), // 200 against 200: team 1 has fewer players
      ticket('t4', { age: 6, skill: 40 }), // team 0 (200 < 250), now full
      ticket('t5', { age: 5, skill: 10 }), // team 1, the one with room
    ];
    assert.deepEqual(teamsOf(formMatches(teamRules(2, 3), tickets, NOW)[0]), [
      ['t1', 't4'],
      ['t2', 't3', 't5'],
    ]);
  });

  it('puts a party in the lowest-sum team with room for all its players', () => {
    const tickets = [
      ticket('q', { age: 9, skill: 300 }), // 300: team 0
      ticket('pair', { age: 8, skill: 100, players: 2 }), // 200: team 1
      ticket('pair2', { age: 7, skill: 60, players: 2 }), // 120: team 1 is lower but has room for 1; team 0
      ticket('r', { age: 6, skill: 50 }), // team 1
    ];
    assert.deepEqual(teamsOf(formMatches(teamRules(2, 3), tickets, NOW)[0]), [
      ['q', 'pair2'],
      ['pair', 'r'],
    ]);
  });

  it('is no match when the group cannot fill every team exactly; another region may still make one', () => {
    const stuck = [ticket('q', { age: 9, skill: 300 }), ticket('r', { age: 8, skill: 200 }), ticket('pair', { age: 7, skill: 10, players: 2 })];
    assert.deepEqual(formMatches(teamRules(2, 2), stuck, NOW), []);
    const tickets = [
      ticket('a', { age: 9, regions: ['eu', 'us'] }),
      ticket('trio', { age: 8, players: 3, regions: ['eu'] }),
      ...['x', 'y', 'z'].map((id) => ticket(id, { skill: 1_010, regions: ['us'] })),
    ];
    const matches = formMatches(teamRules(2, 2), tickets, NOW);
    assert.deepEqual(shapes(matches), [{ region: 'us', tickets: ['a', 'x', 'y', 'z'] }]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The rules read plainly, O(n²): every anchor filters and sorts all unplaced tickets.

function olderFirst(a: SearchingTicket, b: SearchingTicket): number {
  return a.createdAtMs - b.createdAtMs || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

function propertyOf(t: SearchingTicket, key: string): string | number | null {
  return Object.hasOwn(t.properties, key) ? (t.properties[key] ?? null) : null;
}

function referenceFormMatches(rules: PoolRules, tickets: readonly SearchingTicket[], nowMs: number): FormedMatch[] {
  const byAge = [...tickets].sort(olderFirst);
  const placed = new Set<string>();
  const matches: FormedMatch[] = [];
  for (const anchor of byAge) {
    if (placed.has(anchor.id)) continue;
    const match = referenceMatch(
      rules,
      anchor,
      byAge.filter((t) => !placed.has(t.id)),
      nowMs,
    );
    if (!match) continue;
    for (const t of match.tickets) placed.add(t.id);
    matches.push(match);
  }
  return matches;
}

function referenceMatch(rules: PoolRules, anchor: SearchingTicket, unplaced: SearchingTicket[], nowMs: number): FormedMatch | undefined {
  const age = Math.max(0, (nowMs - anchor.createdAtMs) / 1_000);
  const window = Math.min(rules.skill.windowStart + rules.skill.growthPerSecond * age, rules.skill.windowMax ?? Infinity);
  const distance = (t: SearchingTicket) => Math.abs(t.skill - anchor.skill);
  for (const region of anchor.regions) {
    const candidates = unplaced
      .filter((t) => t !== anchor && t.regions.includes(region))
      .filter((t) => rules.equalProperties.every((key) => propertyOf(t, key) === propertyOf(anchor, key)))
      .filter((t) => distance(t) <= window)
      .sort((a, b) => distance(a) - distance(b) || olderFirst(a, b));
    const group = [anchor];
    let players = anchor.players.length;
    for (const candidate of candidates) {
      if (players === rules.maxPlayers) break;
      const skills = [...group, candidate].map((t) => t.skill);
      if (players + candidate.players.length > rules.maxPlayers) continue;
      if (Math.max(...skills) - Math.min(...skills) > window) continue;
      group.push(candidate);
      players += candidate.players.length;
    }
    const filledAfterWait = rules.teams === null && rules.fillAfterSeconds !== null && age >= rules.fillAfterSeconds;
    if (players !== rules.maxPlayers && !(filledAfterWait && players >= rules.minPlayers && players <= rules.maxPlayers)) continue;
    const teams = rules.teams ? referenceTeams(rules.teams, group) : [group];
    if (!teams) continue;
    return {
      anchorId: anchor.id,
      region,
      tickets: group,
      teams: teams.map((members, index) => ({ index, ticketIds: members.map((t) => t.id), players: members.flatMap((t) => t.players) })),
      properties: Object.fromEntries(rules.equalProperties.map((key) => [key, propertyOf(anchor, key)])),
    };
  }
  return undefined;
}

function referenceTeams(shape: { count: number; size: number }, group: SearchingTicket[]): SearchingTicket[][] | undefined {
  const weight = (t: SearchingTicket) => t.skill * t.players.length;
  const teams = Array.from({ length: shape.count }, (_, index) => ({ index, members: [] as SearchingTicket[], sum: 0, players: 0 }));
  for (const t of [...group].sort((a, b) => weight(b) - weight(a) || olderFirst(a, b))) {
    const [team] = teams
      .filter((candidate) => candidate.players + t.players.length <= shape.size)
      .sort((a, b) => a.sum - b.sum || a.players - b.players || a.index - b.index);
    if (!team) return undefined;
    team.members.push(t);
    team.sum += weight(t);
    team.players += t.players.length;
  }
  return teams.every((team) => team.players === shape.size) ? teams.map((team) => team.members) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Random pools.

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

const REGIONS = ['eu', 'us', 'asia'];

/**
 * 'solo': the load the matcher is sized for (one player a ticket, skill 0–3000, one or two regions, no properties).
 * 'mixed': parties of one to three, skills on a coarse grid (many ties), and a mode property sometimes missing.
 */
function randomPool(seed: number, count: number, shape: 'solo' | 'mixed'): SearchingTicket[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (): SearchingTicket => {
    const id = Array.from({ length: 4 }, () => Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0')).join('');
    const regions = shuffle(REGIONS, random).slice(0, 1 + Math.floor(random() * 2));
    if (shape === 'solo') {
      return { id, createdAtMs: NOW - Math.floor(random() * 60_000), players: [`${id}:0`], skill: Math.floor(random() * 3_001), regions, properties: {} };
    }
    const players = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => `${id}:${i}`);
    const mode = pick(['casual', 'ranked', null]);
    return {
      id,
      createdAtMs: NOW - Math.floor(random() * 60) * 1_000,
      players,
      skill: Math.floor(random() * 300) * 10,
      regions,
      properties: mode === null ? {} : { mode },
    };
  });
}

/** What any pass must hold: no ticket twice, every match within its pool's bounds. */
function assertValid(rules: PoolRules, tickets: readonly SearchingTicket[], matches: readonly FormedMatch[]): void {
  const known = new Map(tickets.map((t) => [t.id, t]));
  const seen = new Set<string>();
  for (const match of matches) {
    const anchor = known.get(match.anchorId);
    assert.ok(anchor, 'the anchor is a ticket of the pool');
    assert.equal(match.tickets[0], anchor, 'the anchor joins first');
    const players = match.tickets.reduce((sum, t) => sum + t.players.length, 0);
    const skills = match.tickets.map((t) => t.skill);
    const window = skillWindow(rules, anchor, NOW);
    for (const t of match.tickets) {
      assert.equal(known.get(t.id), t, 'a ticket of the pool');
      assert.ok(!seen.has(t.id), `ticket ${t.id} is in one match only`);
      seen.add(t.id);
      assert.ok(t.regions.includes(match.region), 'every ticket accepts the region');
      for (const key of rules.equalProperties) assert.equal(propertyOf(t, key), match.properties[key], 'equal properties');
      assert.ok(Math.abs(t.skill - anchor.skill) <= window, 'within the anchor’s window');
    }
    assert.ok(Math.max(...skills) - Math.min(...skills) <= window, 'the spread is within the window');
    assert.ok(players <= rules.maxPlayers && players >= rules.minPlayers, `${players} players within the bounds`);
    const waited = rules.fillAfterSeconds !== null && (NOW - anchor.createdAtMs) / 1_000 >= rules.fillAfterSeconds;
    if (players < rules.maxPlayers) assert.ok(rules.teams === null && waited, 'below max only after fill-after');
    const teamed = match.teams.flatMap((team) => team.ticketIds).sort();
    assert.deepEqual(teamed, match.tickets.map((t) => t.id).sort(), 'the teams hold the match’s tickets');
    if (rules.teams) {
      const { count, size } = rules.teams;
      assert.equal(match.teams.length, count);
      for (const team of match.teams) assert.equal(team.players.length, size, 'every team full');
    }
  }
}

const rulesArbitrary: fc.Arbitrary<PoolRules> = fc
  .record({
    teams: fc.option(fc.record({ count: fc.integer({ min: 2, max: 3 }), size: fc.integer({ min: 1, max: 3 }) }), { nil: null }),
    maxPlayers: fc.integer({ min: 1, max: 6 }),
    minFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    windowStart: fc.integer({ min: 0, max: 200 }),
    growthPerSecond: fc.integer({ min: 0, max: 20 }),
    windowMax: fc.option(fc.integer({ min: 0, max: 300 }), { nil: null }),
    fillAfterSeconds: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
    equalProperties: fc.constantFrom<string[]>([], [], ['mode'], ['mode', 'map']),
  })
  .map(({ teams, maxPlayers, minFraction, windowStart, growthPerSecond, windowMax, fillAfterSeconds, equalProperties }) => {
    const max = teams ? teams.count * teams.size : maxPlayers;
    const min = teams ? max : Math.max(1, Math.ceil(minFraction * max));
    return rulesWith({
      minPlayers: min,
      maxPlayers: max,
      teams,
      skill: { windowStart, growthPerSecond, windowMax: windowMax === null ? null : Math.max(windowMax, windowStart) },
      fillAfterSeconds: teams ? null : fillAfterSeconds,
      equalProperties,
    });
  });

const propertyValueArbitrary = fc.option(fc.constantFrom<string | number>('a', 'b', 1, '1'), { nil: undefined });

const ticketArbitrary: fc.Arbitrary<SearchingTicket> = fc
  .record({
    id: fc.uuid(),
    age: fc.integer({ min: 0, max: 90 }),
    players: fc.integer({ min: 1, max: 3 }),
    skill: fc.integer({ min: 90, max: 130 }).map((s) => s * 10),
    regions: fc.shuffledSubarray(REGIONS, { minLength: 1 }),
    mode: propertyValueArbitrary,
    map: propertyValueArbitrary,
  })
  .map(({ id, age, players, skill, regions, mode, map }) => ({
    ...ticket(id, { age, players, skill, regions }),
    properties: { ...(mode === undefined ? {} : { mode }), ...(map === undefined ? {} : { map }) },
  }));

const poolArbitrary = fc.record({
  rules: rulesArbitrary,
  tickets: fc.uniqueArray(ticketArbitrary, { selector: (t) => t.id, minLength: 2, maxLength: 40, size: 'medium' }),
  seed: fc.integer(),
});

describe('random pools', () => {
  it('never puts a ticket in two matches, and keeps every match within its bounds', () => {
    fc.assert(
      fc.property(poolArbitrary, ({ rules, tickets }) => {
        assertValid(rules, tickets, formMatches(rules, tickets, NOW));
      }),
      { numRuns: 500 },
    );
  });

  it('forms the same matches as the plain reading of the rules, whatever the input order', () => {
    fc.assert(
      fc.property(poolArbitrary, ({ rules, tickets, seed }) => {
        const expected = referenceFormMatches(rules, tickets, NOW);
        assert.deepEqual(formMatches(rules, tickets, NOW), expected);
        assert.deepEqual(formMatches(rules, shuffle(tickets, mulberry32(seed)), NOW), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('forms the same matches as the plain reading on 400-ticket pools (several seeds and pool shapes)', () => {
    const shapes: { name: string; rules: PoolRules; pool: 'solo' | 'mixed' }[] = [
      { name: '4 players, no teams', rules: rulesWith({ minPlayers: 4, maxPlayers: 4, skill: { windowStart: 100, growthPerSecond: 5, windowMax: 400 } }), pool: 'solo' },
      {
        name: 'fill after 20 s, a mode to match',
        rules: rulesWith({ minPlayers: 2, maxPlayers: 6, fillAfterSeconds: 20, equalProperties: ['mode'], skill: { windowStart: 50, growthPerSecond: 10, windowMax: null } }),
        pool: 'mixed',
      },
      {
        name: '2 teams of 3',
        rules: rulesWith({ minPlayers: 6, maxPlayers: 6, teams: { count: 2, size: 3 }, skill: { windowStart: 150, growthPerSecond: 10, windowMax: 500 } }),
        pool: 'mixed',
      },
    ];
    for (const { name, rules, pool } of shapes) {
      for (const seed of [1, 2, 3, 4]) {
        const tickets = randomPool(seed, 400, pool);
        const matches = formMatches(rules, tickets, NOW);
        assert.ok(matches.length > 0, `${name}, seed ${seed}: some matches`);
        assert.deepEqual(matches, referenceFormMatches(rules, tickets, NOW), `${name}, seed ${seed}`);
      }
    }
  });

  it('finishes a 10,000-ticket pass with valid matches', () => {
    const rules = rulesWith({ minPlayers: 4, maxPlayers: 4, skill: { windowStart: 100, growthPerSecond: 5, windowMax: 400 } });
    const tickets = randomPool(11, 10_000, 'solo');
    const matches = formMatches(rules, tickets, NOW);
    assertValid(rules, tickets, matches);
    const placed = matches.reduce((sum, match) => sum + match.tickets.length, 0);
    assert.ok(placed > 9_000, `most tickets placed (${placed})`);
  });
});
