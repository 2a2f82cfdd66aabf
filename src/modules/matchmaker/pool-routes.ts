/** /v1/matchmaker/pools: a project's pools, with a secret key. */
import type { FastifyInstance } from 'fastify';
import type { ProjectScope } from '../../http/auth-context.js';
import { scopeOf } from '../../http/credential-gate.js';
import { decodeCursor, encodeCursor } from '../../http/schemas.js';
import type { PoolService } from './pool-service.js';
import type { Ticket } from './ticket.js';
import {
  FleetOrBoardNotFound,
  PoolBody,
  PoolConflict,
  PoolListQuery,
  PoolNotFound,
  PoolPageSchema,
  PoolParams,
  PoolPatch,
  PoolSchema,
  PoolWithStatsSchema,
} from './pool-schemas.js';

const tags = ['matchmaker'];
const POOL_ID = /^[a-z0-9_-]{1,64}$/;

/** A cursor is `{"i": the last pool id of the page}`. */
const isPosition = (value: unknown): value is { i: string } => {
  const v = value as { i?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.i === 'string' && POOL_ID.test(v.i);
};

export async function poolRoutes(app: FastifyInstance, deps: { pools: PoolService; onTicketsEnded: (scope: ProjectScope, tickets: Ticket[]) => void }): Promise<void> {
  const { pools } = deps;

  app.post<{ Body: PoolBody }>(
    '/v1/matchmaker/pools',
    {
      schema: {
        operationId: 'createPool',
        tags,
        summary: 'Creates a matchmaking pool: its fleet, sizes, teams, skill window, regions and waits.',
        body: PoolBody,
        response: { 201: PoolSchema, 404: FleetOrBoardNotFound, 409: PoolConflict },
      },
    },
    async (request, reply) => reply.code(201).send(await pools.create(scopeOf(request), request.body)),
  );

  app.get<{ Querystring: PoolListQuery }>(
    '/v1/matchmaker/pools',
    {
      schema: { operationId: 'listPools', tags, summary: "The project's pools by id, byte-wise, in pages.", querystring: PoolListQuery, response: { 200: PoolPageSchema } },
    },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const after = decodeCursor(request.query.cursor, isPosition);
      const items = await pools.list(scopeOf(request), after?.i, limit);
      return { items, next_cursor: items.length === limit ? encodeCursor({ i: items.at(-1)!.id }) : null };
    },
  );

  app.get<{ Params: PoolParams }>(
    '/v1/matchmaker/pools/:id',
    {
      schema: {
        operationId: 'getPool',
        tags,
        summary: 'The pool, with what searches in it now and the matches of the last hour.',
        params: PoolParams,
        response: { 200: PoolWithStatsSchema, 404: PoolNotFound },
      },
    },
    async (request) => pools.getWithStats(scopeOf(request), request.params.id),
  );

  app.patch<{ Params: PoolParams; Body: PoolPatch }>(
    '/v1/matchmaker/pools/:id',
    {
      schema: {
        operationId: 'updatePool',
        tags,
        summary: 'Changes any rule but the id (null clears an optional one); applies from the next matcher pass.',
        description: 'The result is checked as a whole. Searching tickets keep their age. `skill` is replaced whole.',
        params: PoolParams,
        body: PoolPatch,
        response: { 200: PoolSchema, 404: FleetOrBoardNotFound, 409: PoolConflict },
      },
    },
    async (request) => pools.update(scopeOf(request), request.params.id, request.body),
  );

  app.delete<{ Params: PoolParams }>(
    '/v1/matchmaker/pools/:id',
    {
      schema: {
        operationId: 'deletePool',
        tags,
        summary: 'Deletes the pool; its searching tickets end cancelled (pool-deleted).',
        params: PoolParams,
        response: { 204: { type: 'null', description: 'Deleted.' }, 404: PoolNotFound },
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      deps.onTicketsEnded(scope, await pools.delete(scope, request.params.id));
      return reply.code(204).send();
    },
  );
}
