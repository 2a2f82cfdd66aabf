/** Route schemas of the social graph (docs/api/social.md). Objects closed, strings bounded. */
import { Type, type Static } from '@sinclair/typebox';
import { ActingPlayerQuery } from '../../http/acting-player.js';
import { Id, Timestamp } from '../../http/schemas.js';

const State = Type.Union([Type.Literal('friend'), Type.Literal('invite_received'), Type.Literal('invite_sent'), Type.Literal('blocked')], {
  description: 'The relation as the acting player sees the other: blocked means the acting player blocked them.',
});
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: "The other player's username (case-insensitive)." });

export const RelationSchema = Type.Object(
  {
    player: Type.Object({ id: Id, username: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }),
    state: State,
    updated_at: Timestamp,
    presence: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], {
      description: "The friend's presence; null for every other state (and until presence is available).",
    }),
  },
  { additionalProperties: false },
);

export const RelationPageSchema = Type.Object(
  {
    items: Type.Array(RelationSchema),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'The next page, or null on the last one.' }),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    state: Type.Optional(State),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The next_cursor of an earlier page.' })),
    ...ActingPlayerQuery,
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const RequestBody = Type.Object(
  {
    player_id: Type.Optional({ ...Id, description: 'The player to ask (exactly one of player_id and username).' }),
    username: Type.Optional(Username),
  },
  { additionalProperties: false },
);
export type RequestBody = Static<typeof RequestBody>;

export const OtherParams = Type.Object({ player_id: { ...Id, description: 'The other player.' } }, { additionalProperties: false });
export type OtherParams = Static<typeof OtherParams>;
export const ActingQuery = Type.Object({ ...ActingPlayerQuery }, { additionalProperties: false });
export type ActingQuery = Static<typeof ActingQuery>;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const PlayerNotFound = problem('No such player in the project (or the acting player is unknown).');
export const RequestNotFound = problem('No such player in the project, or it blocked the acting player: the two answer the same.');
export const RequestConflict = problem('conflict: the acting player blocked that player; limit-reached (with limit): FRIENDS_MAX or the other player\'s FRIEND_REQUESTS_PENDING_MAX.');
export const RequestBudget = problem('quota-exceeded: past FRIEND_REQUESTS_PER_HOUR for the acting player (Retry-After says when to retry).');
export const NoRequest = problem('No friend request from that player.');
export const NoRelation = problem('No such relation with that player.');
export const FriendsLimit = problem('limit-reached (with limit): the acting player holds FRIENDS_MAX friends and sent requests.');
export const BlocksLimit = problem('limit-reached (with limit): the acting player has blocked BLOCKS_MAX players.');
export const NotBlocked = problem('That player is not blocked by the acting player.');
