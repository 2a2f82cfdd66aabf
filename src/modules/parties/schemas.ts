/** Route schemas of the parties API (docs/api/parties.md). Objects closed, strings bounded. */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from '../../http/schemas.js';
import { MAX_SIZE, MIN_SIZE } from './party.js';

export const PartyParams = Type.Object(
  { party_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'The party id (opaque).' }) },
  { additionalProperties: false },
);
export type PartyParams = Static<typeof PartyParams>;

const MemberSchema = Type.Object(
  {
    player_id: Id,
    username: Type.Union([Type.String(), Type.Null()]),
    joined_at: Timestamp,
    connected: Type.Boolean({ description: 'False while the member has no connection and no detached session.' }),
  },
  { additionalProperties: false },
);

export const PartySchema = Type.Object(
  {
    id: Type.String(),
    leader_id: Id,
    open: Type.Boolean({ description: 'Any member may invite, and any player may join, an open party.' }),
    max_size: Type.Integer({ minimum: MIN_SIZE, maximum: MAX_SIZE }),
    label: Type.Union([Type.String(), Type.Null()]),
    members: Type.Array(MemberSchema, { description: 'In the order they joined.' }),
    invites: Type.Array(Type.Object({ player_id: Id, expires_at: Timestamp }, { additionalProperties: false }), { description: 'Live invites.' }),
    version: Type.Integer({ minimum: 1, description: 'Grows with every change.' }),
    created_at: Timestamp,
  },
  { additionalProperties: false, description: 'The party.' },
);

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const BadPartyIdResponse = problem('A malformed party id.');
export const PartyNotFoundResponse = problem('No such party, or (for a player token) a party the player is not in.');
