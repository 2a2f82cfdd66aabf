/**
 * Leaderboard routes. Two auth contexts: boards are created and deleted with a secret key only; reading
 * boards and scores, and submitting and deleting scores, take a secret key or a player token (a player acts
 * only for itself, and not at all on an authoritative board's submits).
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authOf, scopeOf } from '../../http/credential-gate.js';
import { IdempotencyKeyHeaders, idempotencyKeyOf } from '../../http/idempotency-key.js';
import { decodeCursor, encodeCursor } from '../../http/schemas.js';
import { forbidden, validation } from '../../internal/errors/app-error.js';
import type { Board } from './board-store.js';
import type { LeaderboardService, ScoreItem, SubmitAnswer } from './leaderboard-service.js';
import { MEMBER_PATTERN } from './rank-key.js';
import { validateCron } from './schedule.js';
import {
  BoardListQuery,
  BoardPageSchema,
  BoardParams,
  BoardSchema,
  CreateBoardBody,
  NoContent,
  RecordParams,
  RecordQuery,
  ScoreItemSchema,
  ScorePageSchema,
  ScoresQuery,
  SubmitAnswerSchema,
  SubmitBody,
} from './schemas.js';
import { formatInt64, metadataJson, parseInt64 } from './scores.js';

const tags = ['leaderboards'];

const boardJson = (board: Board) => ({
  id: board.id,
  sort: board.sort,
  operator: board.operator,
  authoritative: board.authoritative,
  reset_cron: board.resetCron,
  metadata: board.metadata,
  created_at: board.createdAt.toISOString(),
});

const itemJson = ({ rank, record }: ScoreItem) => ({
  rank,
  player_id: String(record.player_id),
  username: record.username,
  score: formatInt64(record.score),
  subscore: formatInt64(record.subscore),
  metadata: record.metadata,
  updated_at: new Date(record.updated_at).toISOString(),
});

const answerJson = (answer: SubmitAnswer) => ({
  player_id: answer.player_id,
  score: formatInt64(answer.score),
  subscore: formatInt64(answer.subscore),
  rank: answer.rank,
  updated_at: answer.updated_at.toISOString(),
});

const isBoardCursor = (value: unknown): value is { a: string } =>
  typeof value === 'object' && value !== null && typeof (value as { a?: unknown }).a === 'string' && /^[a-z0-9_-]{1,64}$/.test((value as { a: string }).a);

const isScoreCursor = (value: unknown): value is { m: string } =>
  typeof value === 'object' && value !== null && typeof (value as { m?: unknown }).m === 'string' && MEMBER_PATTERN.test((value as { m: string }).m);

/** A player may only name itself; a secret key may name any player of its project. */
function actingPlayer(request: FastifyRequest, named: string | undefined): string {
  const auth = authOf(request);
  if (auth.kind === 'player') {
    if (named !== undefined && named !== auth.playerId) throw forbidden('A player token acts only for its own player.');
    return auth.playerId!;
  }
  if (named === undefined) throw validation('player_id is required with a secret key.');
  return named;
}

/** Routes only a secret key may use. */
export async function boardAdminRoutes(app: FastifyInstance, service: LeaderboardService): Promise<void> {
  app.post<{ Body: Static<typeof CreateBoardBody> }>(
    '/v1/leaderboards',
    { schema: { operationId: 'createLeaderboard', tags, body: CreateBoardBody, response: { 201: BoardSchema } } },
    async (request, reply) => {
      const body = request.body;
      if (body.reset_cron !== undefined) validateCron(body.reset_cron);
      const board = await service.createBoard(scopeOf(request), {
        id: body.id,
        sort: body.sort,
        operator: body.operator,
        authoritative: body.authoritative ?? false,
        resetCron: body.reset_cron ?? null,
        metadataJson: metadataJson(body.metadata ?? {}),
      });
      return reply.code(201).send(boardJson(board));
    },
  );

  app.delete<{ Params: Static<typeof BoardParams> }>(
    '/v1/leaderboards/:id',
    { schema: { operationId: 'deleteLeaderboard', tags, params: BoardParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await service.deleteBoard(scopeOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}

/** Routes a secret key or a player token may use. */
export async function boardRoutes(app: FastifyInstance, service: LeaderboardService): Promise<void> {
  app.get<{ Querystring: Static<typeof BoardListQuery> }>(
    '/v1/leaderboards',
    { schema: { operationId: 'listLeaderboards', tags, querystring: BoardListQuery, response: { 200: BoardPageSchema } } },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const after = decodeCursor(request.query.cursor, isBoardCursor)?.a ?? null;
      const boards = await service.listBoards(scopeOf(request), after, limit);
      const last = boards[boards.length - 1];
      return { items: boards.map(boardJson), next_cursor: boards.length === limit && last ? encodeCursor({ a: last.id }) : null };
    },
  );

  app.get<{ Params: Static<typeof BoardParams> }>(
    '/v1/leaderboards/:id',
    { schema: { operationId: 'getLeaderboard', tags, params: BoardParams, response: { 200: BoardSchema } } },
    async (request) => boardJson(await service.getBoard(scopeOf(request), request.params.id)),
  );

  app.post<{ Params: Static<typeof BoardParams>; Body: Static<typeof SubmitBody> }>(
    '/v1/leaderboards/:id/scores',
    {
      schema: {
        operationId: 'submitScore',
        tags,
        params: BoardParams,
        headers: IdempotencyKeyHeaders,
        body: SubmitBody,
        response: { 200: SubmitAnswerSchema },
      },
    },
    async (request) => {
      const body = request.body;
      const auth = authOf(request);
      const answer = await service.submit(
        scopeOf(request),
        request.params.id,
        { kind: auth.kind === 'player' ? 'player' : 'secret', playerId: auth.playerId },
        {
          playerId: actingPlayer(request, body.player_id),
          score: parseInt64(body.score, 'score'),
          subscore: body.subscore === undefined ? 0n : parseInt64(body.subscore, 'subscore'),
          metadataJson: body.metadata === undefined ? null : metadataJson(body.metadata),
          idempotencyKey: idempotencyKeyOf(request),
        },
      );
      return answerJson(answer);
    },
  );

  app.get<{ Params: Static<typeof BoardParams>; Querystring: Static<typeof ScoresQuery> }>(
    '/v1/leaderboards/:id/scores',
    { schema: { operationId: 'listScores', tags, params: BoardParams, querystring: ScoresQuery, response: { 200: ScorePageSchema } } },
    async (request) => {
      const query = request.query;
      if (query.around !== undefined && query.cursor !== undefined) throw validation('Use either around or cursor, not both.');
      const page = await service.scores(scopeOf(request), request.params.id, {
        limit: query.limit ?? 20,
        after: decodeCursor(query.cursor, isScoreCursor)?.m ?? null,
        around: query.around ?? null,
        choice: query.period ?? 'current',
      });
      return { items: page.items.map(itemJson), next_cursor: page.nextAfter === null ? null : encodeCursor({ m: page.nextAfter }) };
    },
  );

  app.get<{ Params: Static<typeof RecordParams>; Querystring: Static<typeof RecordQuery> }>(
    '/v1/leaderboards/:id/scores/:player_id',
    { schema: { operationId: 'getScore', tags, params: RecordParams, querystring: RecordQuery, response: { 200: ScoreItemSchema } } },
    async (request) =>
      itemJson(await service.record(scopeOf(request), request.params.id, request.params.player_id, request.query.period ?? 'current')),
  );

  app.delete<{ Params: Static<typeof RecordParams>; Querystring: Static<typeof RecordQuery> }>(
    '/v1/leaderboards/:id/scores/:player_id',
    { schema: { operationId: 'deleteScore', tags, params: RecordParams, querystring: RecordQuery, response: { 204: NoContent } } },
    async (request, reply) => {
      const playerId = actingPlayer(request, request.params.player_id);
      await service.deleteRecord(scopeOf(request), request.params.id, playerId, request.query.period ?? 'current');
      return reply.code(204).send();
    },
  );
}
