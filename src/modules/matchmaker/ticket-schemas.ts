/** Schemas of matchmaker tickets (docs/api/matchmaker.md): REST bodies, and the same bodies as socket ops. */
import { Type, type Static } from '@sinclair/typebox';
import { ActingPlayerQuery } from '../../http/acting-player.js';
import { Id, Timestamp } from '../../http/schemas.js';
import { PoolId, PropertyKey, RegionName } from './pool-schemas.js';

/** A party id as the parties module makes them. */
const PartyId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Skill = Type.Number({ minimum: -1e9, maximum: 1e9, description: 'Required with a pool whose skill source is "ticket".' });
/** Values are strings of at most 64 bytes (checked in bytes by the service) or finite numbers. */
const Properties = Type.Record(PropertyKey, Type.Union([Type.String({ maxLength: 64 }), Type.Number()]), { maxProperties: 16, additionalProperties: false });
const Regions = Type.Array(RegionName, { minItems: 1, maxItems: 8, uniqueItems: true });

const common = { pool: PoolId, skill: Type.Optional(Skill), regions: Regions, properties: Type.Optional(Properties) };

export const PlayerTicketBody = Type.Object({ ...common, party_id: Type.Optional(PartyId) }, { additionalProperties: false });
export type PlayerTicketBody = Static<typeof PlayerTicketBody>;

export const SecretTicketBody = Type.Object({ ...common, player_ids: Type.Array(Id, { minItems: 1, maxItems: 16 }) }, { additionalProperties: false });
export type SecretTicketBody = Static<typeof SecretTicketBody>;

export const TicketBody = Type.Union([PlayerTicketBody, SecretTicketBody], {
  description: 'A player token sends the player body (party_id optional); a secret key sends player_ids.',
});

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const State = Type.Union([Type.Literal('searching'), Type.Literal('matched'), Type.Literal('cancelled'), Type.Literal('expired')]);

export const MatchSchema = Type.Object(
  {
    id: Id,
    pool: Type.String(),
    region: Type.String(),
    allocation_id: Type.Union([Type.String(), Type.Null()]),
    address: Type.Union([Type.String(), Type.Null()]),
    ports: Type.Array(Type.Object({ name: Type.String(), port: Type.Integer(), protocol: Type.String() }, { additionalProperties: false })),
    teams: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          players: Type.Array(
            Type.Object({ player_id: Type.String(), username: Type.Union([Type.String(), Type.Null()]), ticket_id: Type.String() }, { additionalProperties: false }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()])),
    created_at: Timestamp,
    ended_at: Type.Union([Timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);

export const TicketSchema = Type.Object(
  {
    id: Id,
    pool: Type.String(),
    state: State,
    players: Type.Array(Type.String()),
    party_id: Nullable(Type.String()),
    skill: Type.Number(),
    regions: Type.Array(Type.String()),
    properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
    created_at: Timestamp,
    expires_at: Timestamp,
    ended_reason: Nullable(Type.String()),
    match_id: Nullable(Type.String()),
    match: Type.Optional(MatchSchema),
    token: Type.Optional(Type.String({ description: 'A match token (a matched ticket read by one of its players, while its match lives).' })),
    token_expires_at: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);

export const TicketPageSchema = Type.Object(
  { items: Type.Array(TicketSchema), next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'The next page, or null on the last one.' }) },
  { additionalProperties: false },
);

export const MatchParams = Type.Object({ id: Id }, { additionalProperties: false });
export type MatchParams = Static<typeof MatchParams>;
export const TicketParams = Type.Object({ id: Id }, { additionalProperties: false });
export type TicketParams = Static<typeof TicketParams>;

export const TicketListQuery = Type.Object(
  {
    state: Type.Optional(State),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The next_cursor of an earlier page.' })),
    ...ActingPlayerQuery,
  },
  { additionalProperties: false },
);
export type TicketListQuery = Static<typeof TicketListQuery>;

/** The body of matchmaker.remove. */
export const RemoveOp = Type.Object({ ticket_id: Id }, { additionalProperties: false });

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const TicketNotFound = problem('No such ticket, or the caller is not one of its players.');
export const TicketCreateNotFound = problem('No such pool, or a player_id that is not a player of the project.');
export const TicketConflict = problem('conflict (with ticket_id): one of the players already has a searching ticket.');
export const NotPartyLeader = problem('The caller is not the leader of that party.');
export const TicketMatched = problem('conflict: the ticket is matched; it can no longer be cancelled.');
export const MatchNotFound = problem('No such match, or the caller is not one of its players.');
