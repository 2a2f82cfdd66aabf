/**
 * A pool as the API shows it, with its defaults filled in, the checks that span several fields (sizes,
 * teams, the skill window, labels).
 */
import { validation } from '../../internal/errors/app-error.js';
import { checkLabels, type Labels } from '../fleet/api.js';
import type { PoolRules } from './forming.js';

export interface PoolSkill {
  window_start: number;
  growth_per_second: number;
  window_max: number | null;
  /** "ticket" or "leaderboard:<board id>". */
  source: string;
  default: number;
}

/** Everything a client sets on a pool (all but the times). */
export interface PoolSettings {
  id: string;
  fleet: string;
  min_players: number;
  max_players: number;
  team_count: number | null;
  team_size: number | null;
  skill: PoolSkill;
  max_wait_seconds: number;
  fill_after_seconds: number | null;
  regions: string[] | null;
  region_label: string | null;
  equal_properties: string[];
  allocation_labels: Labels;
}

export interface Pool extends PoolSettings {
  created_at: string;
  updated_at: string;
}

/** A pool as a client sends it: optional members may be absent (or null, to clear them in a PATCH). */
export type PoolInput = Pick<PoolSettings, 'id' | 'fleet' | 'min_players' | 'max_players' | 'max_wait_seconds'> & {
  team_count?: number | null;
  team_size?: number | null;
  skill: Partial<PoolSkill> & Pick<PoolSkill, 'window_start' | 'growth_per_second'>;
  fill_after_seconds?: number | null;
  regions?: string[] | null;
  region_label?: string | null;
  equal_properties?: string[] | null;
  allocation_labels?: Labels | null;
};

const LEADERBOARD_SOURCE = /^leaderboard:([a-z0-9_-]{1,64})$/;

/** The board a pool reads skill from, or undefined for skill from the ticket. */
export function skillBoard(skill: Pick<PoolSkill, 'source'>): string | undefined {
  return LEADERBOARD_SOURCE.exec(skill.source)?.[1];
}

/** The settings with their defaults, checked as a whole; a 400 names the first rule that does not hold. */
export function settle(input: PoolInput): PoolSettings {
  const pool: PoolSettings = {
    id: input.id,
    fleet: input.fleet,
    min_players: input.min_players,
    max_players: input.max_players,
    team_count: input.team_count ?? null,
    team_size: input.team_size ?? null,
    skill: {
      window_start: input.skill.window_start,
      growth_per_second: input.skill.growth_per_second,
      window_max: input.skill.window_max ?? null,
      source: input.skill.source ?? 'ticket',
      default: input.skill.default ?? 0,
    },
    max_wait_seconds: input.max_wait_seconds,
    fill_after_seconds: input.fill_after_seconds ?? null,
    regions: input.regions ?? null,
    region_label: input.region_label ?? null,
    equal_properties: input.equal_properties ?? [],
    allocation_labels: input.allocation_labels ?? {},
  };
  checkSizes(pool);
  const { skill } = pool;
  if (skill.window_max !== null && skill.window_max < skill.window_start) throw validation('skill.window_max must be at least skill.window_start (or null: no cap).');
  if (skill.source !== 'ticket' && !skillBoard(skill)) throw validation('skill.source must be "ticket" or "leaderboard:<board id>".');
  if (pool.regions && new Set(pool.regions).size !== pool.regions.length) throw validation('regions must not repeat a name.');
  if (new Set(pool.equal_properties).size !== pool.equal_properties.length) throw validation('equal_properties must not repeat a key.');
  checkLabels(pool.allocation_labels, 'allocation_labels');
  if (pool.region_label !== null) checkLabels({ [pool.region_label]: 'region' }, 'region_label');
  return pool;
}

function checkSizes(pool: PoolSettings): void {
  if (pool.min_players > pool.max_players) throw validation('min_players must be at most max_players.');
  if ((pool.team_count === null) !== (pool.team_size === null)) throw validation('Set both team_count and team_size, or neither.');
  if (pool.team_count !== null && pool.team_size !== null) {
    const players = pool.team_count * pool.team_size;
    if (players > 100) throw validation('team_count × team_size must be at most 100 players.');
    if (pool.min_players !== players || pool.max_players !== players) {
      throw validation(`With teams, min_players and max_players must both be team_count × team_size (${players}).`);
    }
    if (pool.fill_after_seconds !== null) throw validation('fill_after_seconds applies only to pools without teams.');
  }
}

/** What the matcher needs of a pool. */
export function rulesOf(pool: PoolSettings): PoolRules {
  return {
    minPlayers: pool.min_players,
    maxPlayers: pool.max_players,
    teams: pool.team_count !== null && pool.team_size !== null ? { count: pool.team_count, size: pool.team_size } : null,
    skill: { windowStart: pool.skill.window_start, growthPerSecond: pool.skill.growth_per_second, windowMax: pool.skill.window_max },
    fillAfterSeconds: pool.fill_after_seconds,
    regions: pool.regions,
    equalProperties: pool.equal_properties,
  };
}
