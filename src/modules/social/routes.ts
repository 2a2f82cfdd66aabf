/** /v1/friends: the acting player's relations (its own token, or a secret key with ?player_id=). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { actingPlayerOf } from '../../http/acting-player.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { scopeOf } from '../../http/credential-gate.js';
import { decodeCursor, encodeCursor } from '../../http/schemas.js';
import { validation } from '../../internal/errors/app-error.js';
import type { RelationReads } from './relation-reads.js';
import type { RelationService } from './relation-service.js';
import type { ListPosition } from './relation-store.js';
import {
  ActingQuery,
  BlocksLimit,
  FriendsLimit,
  ListQuery,
  NoRelation,
  NoRequest,
  NotBlocked,
  OtherParams,
  PlayerNotFound,
  RelationPageSchema,
  RelationSchema,
  RequestBody,
  RequestBudget,
  RequestConflict,
  RequestNotFound,
} from './schemas.js';

const tags = ['social'];
const ID = /^[1-9][0-9]{0,17}$/;

/** A cursor is `{"r": state rank 1–4, "p": other player id}`: the listing resumes after that position. */
const isPosition = (value: unknown): value is { r: number; p: string } => {
  const v = value as { r?: unknown; p?: unknown } | null;
  return typeof v === 'object' && v !== null && Number.isInteger(v.r) && (v.r as number) >= 1 && (v.r as number) <= 4 && typeof v.p === 'string' && ID.test(v.p);
};

/** Pays one friend request against the acting player's hourly budget. */
export type RequestCharge = (reply: FastifyReply, scope: ProjectScope, playerId: string) => void | Promise<void>;

export async function friendRoutes(app: FastifyInstance, deps: { service: RelationService; reads: RelationReads; charge: RequestCharge }): Promise<void> {
  const { service, reads, charge } = deps;

  app.get<{ Querystring: ListQuery }>(
    '/v1/friends',
    {
      schema: {
        operationId: 'listFriends',
        tags,
        summary: "Lists the acting player's relations: by state (friend, invite_received, invite_sent, blocked), then player id byte-wise.",
        querystring: ListQuery,
        response: { 200: RelationPageSchema, 404: PlayerNotFound },
      },
    },
    async (request) => {
      const playerId = actingPlayerOf(request);
      const cursor = decodeCursor(request.query.cursor, isPosition);
      const after: ListPosition | undefined = cursor && { rank: cursor.r, otherId: cursor.p };
      const page = await reads.list(scopeOf(request), playerId, request.query.state, after, request.query.limit ?? 20);
      return { items: page.items, next_cursor: page.next === null ? null : encodeCursor({ r: page.next.rank, p: page.next.otherId }) };
    },
  );

  app.get<{ Params: OtherParams; Querystring: ActingQuery }>(
    '/v1/friends/:player_id',
    {
      schema: {
        operationId: 'getFriend',
        tags,
        summary: 'The relation with one player, as the acting player sees it.',
        params: OtherParams,
        querystring: ActingQuery,
        response: { 200: RelationSchema, 404: NoRelation },
      },
    },
    async (request) => reads.get(scopeOf(request), actingPlayerOf(request), request.params.player_id),
  );

  app.post<{ Body: RequestBody; Querystring: ActingQuery }>(
    '/v1/friends/requests',
    {
      schema: {
        operationId: 'sendFriendRequest',
        tags,
        summary: 'Asks a player (by player_id or username, exactly one) to be friends.',
        description:
          '201 with invite_sent; 200 with friend when the other player had already asked (the mutual request accepts); 200 with the ' +
          'relation unchanged when it is already friend or invite_sent. The other player is notified (ggscale.friend_request, or ' +
          'ggscale.friend_accepted) and gets a friend event.',
        querystring: ActingQuery,
        body: RequestBody,
        response: { 200: RelationSchema, 201: RelationSchema, 404: RequestNotFound, 409: RequestConflict, 429: RequestBudget },
      },
    },
    async (request, reply) => {
      const playerId = actingPlayerOf(request);
      const { player_id: otherId, username } = request.body;
      if ((otherId === undefined) === (username === undefined)) throw validation('Name exactly one of player_id and username.');
      const scope = scopeOf(request);
      const target = otherId !== undefined ? { playerId: otherId } : { username: username! };
      const { created, relation } = await service.request(scope, playerId, target, () => charge(reply, scope, playerId));
      return reply.code(created ? 201 : 200).send(relation);
    },
  );

  app.post<{ Params: OtherParams; Querystring: ActingQuery }>(
    '/v1/friends/:player_id/accept',
    {
      schema: {
        operationId: 'acceptFriendRequest',
        tags,
        summary: "Accepts that player's friend request; they are notified (ggscale.friend_accepted).",
        params: OtherParams,
        querystring: ActingQuery,
        response: { 200: RelationSchema, 404: NoRequest, 409: FriendsLimit },
      },
    },
    async (request) => service.accept(scopeOf(request), actingPlayerOf(request), request.params.player_id),
  );

  app.post<{ Params: OtherParams; Querystring: ActingQuery }>(
    '/v1/friends/:player_id/decline',
    {
      schema: {
        operationId: 'declineFriendRequest',
        tags,
        summary: "Declines that player's friend request (nobody is notified).",
        params: OtherParams,
        querystring: ActingQuery,
        response: { 204: Type.Null({ description: 'Declined.' }), 404: NoRequest },
      },
    },
    async (request, reply) => {
      await service.decline(scopeOf(request), actingPlayerOf(request), request.params.player_id);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: OtherParams; Querystring: ActingQuery }>(
    '/v1/friends/:player_id',
    {
      schema: {
        operationId: 'removeFriend',
        tags,
        summary: 'Ends a friendship (both sides), withdraws a sent request or declines a received one. A block stays.',
        params: OtherParams,
        querystring: ActingQuery,
        response: { 204: Type.Null({ description: 'Removed.' }), 404: NoRelation },
      },
    },
    async (request, reply) => {
      await service.remove(scopeOf(request), actingPlayerOf(request), request.params.player_id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: OtherParams; Querystring: ActingQuery }>(
    '/v1/friends/:player_id/block',
    {
      schema: {
        operationId: 'blockPlayer',
        tags,
        summary: 'Blocks a player: ends any friendship and request between the two, both ways. Idempotent.',
        params: OtherParams,
        querystring: ActingQuery,
        response: { 200: RelationSchema, 404: PlayerNotFound, 409: BlocksLimit },
      },
    },
    async (request) => service.block(scopeOf(request), actingPlayerOf(request), request.params.player_id),
  );

  app.delete<{ Params: OtherParams; Querystring: ActingQuery }>(
    '/v1/friends/:player_id/block',
    {
      schema: {
        operationId: 'unblockPlayer',
        tags,
        summary: 'Lifts a block. An earlier friendship does not come back.',
        params: OtherParams,
        querystring: ActingQuery,
        response: { 204: Type.Null({ description: 'Unblocked.' }), 404: NotBlocked },
      },
    },
    async (request, reply) => {
      await service.unblock(scopeOf(request), actingPlayerOf(request), request.params.player_id);
      return reply.code(204).send();
    },
  );
}
