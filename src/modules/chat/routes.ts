/** /v1/channels/{channel}/messages: history and deletes, for a player token or the project's secret key. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { authOf } from '../../http/credential-gate.js';
import type { Caller, ChatHistory } from './history.js';
import {
  BadHistoryResponse,
  ChannelNotFoundResponse,
  ChannelParams,
  HistoryPageSchema,
  HistoryQuery,
  MessageNotFoundResponse,
  MessageParams,
} from './schemas.js';

const tags = ['chat'];

export async function historyRoutes(app: FastifyInstance, history: ChatHistory): Promise<void> {
  app.get<{ Params: ChannelParams; Querystring: HistoryQuery }>(
    '/v1/channels/:channel/messages',
    {
      schema: {
        operationId: 'listChannelMessages',
        tags,
        summary: "Lists a channel's stored messages.",
        description:
          'Without a cursor or with before_seq: newest first. With after_seq: oldest first. A player reads any room:, its own dm: ' +
          "channels and its current party's channel; a secret key reads every channel of its project (dm: by both players).",
        params: ChannelParams,
        querystring: HistoryQuery,
        response: { 200: HistoryPageSchema, 400: BadHistoryResponse, 404: ChannelNotFoundResponse },
      },
    },
    async (request) => {
      const auth = authOf(request);
      return history.list({ tenantId: auth.tenantId, projectId: auth.projectId }, callerOf(auth), request.params.channel, request.query);
    },
  );

  app.delete<{ Params: MessageParams }>(
    '/v1/channels/:channel/messages/:seq',
    {
      schema: {
        operationId: 'deleteChannelMessage',
        tags,
        summary: 'Deletes one stored message of a channel.',
        description: "A player token deletes only its own messages; a secret key deletes any (moderation, audited). Joined connections get channel.message_deleted.",
        params: MessageParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), 400: BadHistoryResponse, 404: MessageNotFoundResponse },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const seq = Number(request.params.seq);
      const channel = await history.remove({ tenantId: auth.tenantId, projectId: auth.projectId }, callerOf(auth), request.params.channel, seq);
      if (auth.kind !== 'player') {
        // The channel and seq, never the text (it may be personal).
        request.log.info(
          { audit: true, actor: `api_key:${auth.keyId}`, ip: request.ip, action: 'chat.message_delete', target: `project:${auth.projectId}`, channel, seq },
          'chat message deleted',
        );
      }
      return reply.code(204).send();
    },
  );
}

function callerOf(auth: ReturnType<typeof authOf>): Caller {
  return auth.kind === 'player' ? { kind: 'player', playerId: auth.playerId! } : { kind: 'secret' };
}
