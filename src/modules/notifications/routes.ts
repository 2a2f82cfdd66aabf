/** /v1/notifications: sends (secret key), and a player's list and deletes (its token, or a secret key with ?player_id=). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actingPlayerOf } from '../../http/acting-player.js';
import { authOf } from '../../http/credential-gate.js';
import { IdempotencyKeyHeaders, idempotencyKeyOf } from '../../http/idempotency-key.js';
import { decodeCursor, encodeCursor } from '../../http/schemas.js';
import type { NotificationService } from './notification-service.js';
import {
  ActingQuery,
  ConflictResponse,
  ListQuery,
  NotificationNotFoundResponse,
  NotificationPageSchema,
  NotificationParams,
  PlayerNotFoundResponse,
  SendAnswerSchema,
  SendBody,
  SendNotFoundResponse,
  TooLargeResponse,
} from './schemas.js';

const tags = ['notifications'];

/** A cursor is `{"after": <stored id, or 0>}`: the listing resumes after that id. */
const AFTER = /^(0|[1-9][0-9]{0,17})$/;
const isAfterCursor = (value: unknown): value is { after: string } =>
  typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string' && AFTER.test((value as { after: string }).after);

/** Routes only a secret key may use. */
export async function sendRoutes(app: FastifyInstance, service: NotificationService): Promise<void> {
  app.post<{ Body: SendBody }>(
    '/v1/notifications',
    {
      schema: {
        operationId: 'sendNotifications',
        tags,
        summary: 'Sends one notification to each of up to 1,000 players of the project.',
        description:
          'Stored (unless persistent is false) and delivered live to every connection of each player. Any id that is not a player of ' +
          'the project is 404 and nothing is sent. Honours Idempotency-Key.',
        headers: IdempotencyKeyHeaders,
        body: SendBody,
        response: { 201: SendAnswerSchema, 404: SendNotFoundResponse, 409: ConflictResponse, 413: TooLargeResponse },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const scope = { tenantId: auth.tenantId, projectId: auth.projectId };
      const { answer, replayed } = await service.sendFromServer(scope, request.body, idempotencyKeyOf(request));
      if (!replayed) {
        // The code and the count, never the content (it may be personal).
        request.log.info(
          {
            audit: true,
            actor: `api_key:${auth.keyId}`,
            ip: request.ip,
            action: 'notification.send',
            target: `project:${auth.projectId}`,
            code: request.body.code,
            count: answer.items.length,
          },
          'notifications sent',
        );
      }
      return reply.code(201).send(answer);
    },
  );
}

/** Routes acting for a player: its own token, or a secret key with ?player_id=. */
export async function playerRoutes(app: FastifyInstance, service: NotificationService): Promise<void> {
  app.get<{ Querystring: ListQuery }>(
    '/v1/notifications',
    {
      schema: {
        operationId: 'listNotifications',
        tags,
        summary: "Lists a player's stored notifications, oldest first.",
        description: 'cacheable_cursor, passed back later as cursor, returns only the notifications created since this page.',
        querystring: ListQuery,
        response: { 200: NotificationPageSchema, 404: PlayerNotFoundResponse },
      },
    },
    async (request) => {
      const { tenantId, projectId } = authOf(request);
      const playerId = actingPlayerOf(request);
      const after = decodeCursor(request.query.cursor, isAfterCursor)?.after ?? '0';
      const page = await service.list({ tenantId, projectId }, playerId, after, request.query.limit ?? 20);
      return {
        items: page.items,
        next_cursor: page.nextAfter === null ? null : encodeCursor({ after: page.nextAfter }),
        cacheable_cursor: encodeCursor({ after: page.cacheableAfter }),
      };
    },
  );

  app.delete<{ Params: NotificationParams; Querystring: ActingQuery }>(
    '/v1/notifications/:id',
    {
      schema: {
        operationId: 'deleteNotification',
        tags,
        summary: "Deletes one of a player's stored notifications.",
        params: NotificationParams,
        querystring: ActingQuery,
        response: { 204: Type.Null({ description: 'Deleted.' }), 404: NotificationNotFoundResponse },
      },
    },
    async (request, reply) => {
      const { tenantId, projectId } = authOf(request);
      await service.remove({ tenantId, projectId }, actingPlayerOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
