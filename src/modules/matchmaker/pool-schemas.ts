/** Route schemas of matchmaker pools (docs/api/matchmaker.md). Objects closed, strings bounded. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Timestamp } from '../../http/schemas.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** A bound a JSON number can meet exactly (skill windows are plain numbers, not integers). */
const SkillNumber = Type.Number({ minimum: 0, maximum: 1e9 });

export const PoolId = Type.String({ pattern: '^[a-z0-9_-]{1,64}$', minLength: 1, maxLength: 64, description: '1–64 of [a-z0-9_-].' });
export const RegionName = Type.String({ pattern: '^[a-z0-9_-]{1,32}$', minLength: 1, maxLength: 32 });
export const PropertyKey = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,32}$', minLength: 1, maxLength: 32 });
const LabelMap = Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 63 }), { maxProperties: 16 });

const skillMembers = {
  window_start: SkillNumber,
  growth_per_second: SkillNumber,
  window_max: Type.Optional(Nullable(SkillNumber)),
  source: Type.Optional(Type.String({ maxLength: 80, description: '"ticket" (the default) or "leaderboard:<board id>".' })),
  default: Type.Optional(Type.Number({ minimum: -1e9, maximum: 1e9, description: 'The skill of a player without a record (leaderboard source).' })),
};
const SkillInput = Type.Object(skillMembers, { additionalProperties: false });

/** Every member but the id, as POST and PATCH take them. */
const settingMembers = {
  fleet: Type.String({ minLength: 1, maxLength: 63, description: 'A fleet registered for this project.' }),
  min_players: Type.Integer({ minimum: 1, maximum: 100 }),
  max_players: Type.Integer({ minimum: 1, maximum: 100 }),
  team_count: Type.Optional(Nullable(Type.Integer({ minimum: 2, maximum: 8 }))),
  team_size: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 50 }))),
  skill: SkillInput,
  max_wait_seconds: Type.Integer({ minimum: 10, maximum: 3_600 }),
  fill_after_seconds: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 3_600 }))),
  regions: Type.Optional(Nullable(Type.Array(RegionName, { maxItems: 32 }))),
  region_label: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 317 }))),
  equal_properties: Type.Optional(Nullable(Type.Array(PropertyKey, { maxItems: 8 }))),
  allocation_labels: Type.Optional(Nullable(LabelMap)),
};

export const PoolBody = Type.Object({ id: PoolId, ...settingMembers }, { additionalProperties: false });
export type PoolBody = Static<typeof PoolBody>;

export const PoolPatch = Type.Partial(Type.Object(settingMembers, { additionalProperties: false }), { additionalProperties: false, minProperties: 1 });
export type PoolPatch = Static<typeof PoolPatch>;

export const PoolSchema = Type.Object(
  {
    id: PoolId,
    fleet: Type.String(),
    min_players: Type.Integer(),
    max_players: Type.Integer(),
    team_count: Nullable(Type.Integer()),
    team_size: Nullable(Type.Integer()),
    skill: Type.Object(
      { window_start: Type.Number(), growth_per_second: Type.Number(), window_max: Nullable(Type.Number()), source: Type.String(), default: Type.Number() },
      { additionalProperties: false },
    ),
    max_wait_seconds: Type.Integer(),
    fill_after_seconds: Nullable(Type.Integer()),
    regions: Nullable(Type.Array(Type.String())),
    region_label: Nullable(Type.String()),
    equal_properties: Type.Array(Type.String()),
    allocation_labels: Type.Record(Type.String(), Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { additionalProperties: false },
);

export const PoolStatsSchema = Type.Object(
  { tickets_searching: Type.Integer(), players_searching: Type.Integer(), oldest_wait_seconds: Type.Integer(), matches_last_hour: Type.Integer() },
  { additionalProperties: false },
);
export const PoolWithStatsSchema = Type.Composite([PoolSchema, Type.Object({ stats: PoolStatsSchema })], { additionalProperties: false });

export const PoolPageSchema = Type.Object(
  { items: Type.Array(PoolSchema), next_cursor: Nullable(Type.String({ description: 'The next page, or null on the last one.' })) },
  { additionalProperties: false },
);

export const PoolParams = Type.Object({ id: PoolId }, { additionalProperties: false });
export type PoolParams = Static<typeof PoolParams>;

export const PoolListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The next_cursor of an earlier page.' })),
  },
  { additionalProperties: false },
);
export type PoolListQuery = Static<typeof PoolListQuery>;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const PoolNotFound = problem('No such pool in the project.');
export const FleetOrBoardNotFound = problem('No such pool, or no fleet or leaderboard of that name in the project.');
export const PoolConflict = problem('conflict: a pool with that id exists; limit-reached (with limit): the project has MATCHMAKER_MAX_POOLS pools.');
