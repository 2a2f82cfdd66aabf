/** /v1/fleet: allocations (and the project's fleets), in the secret-key auth context. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { authOf } from '../../../http/credential-gate.js';
import { IdempotencyKeyHeaders, idempotencyKeyOf } from '../../../http/idempotency-key.js';
import { Id, Page, PageQuery, decodeCursor, encodeCursor } from '../../../http/schemas.js';
import type { AllocationRecord } from '../allocation-store.js';
import type { AllocationService } from '../allocation-service.js';
import type { FleetService } from '../fleet-service.js';
import { Allocation, AllocateBody, AllocationQuery, ProjectFleet, isFleetNameCursor } from './schemas.js';

const tags = ['fleet'];
const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

const isIdCursor = (value: unknown): value is { before: string } =>
  typeof value === 'object' && value !== null && typeof (value as { before?: unknown }).before === 'string' && /^[1-9][0-9]{0,17}$/.test((value as { before: string }).before);

function allocationView(allocation: AllocationRecord) {
  return {
    id: allocation.id,
    fleet: allocation.fleet,
    game_server: allocation.gameServer,
    state: allocation.state,
    address: allocation.address,
    ports: allocation.ports,
    expires_at: allocation.expiresAt,
    created_at: allocation.createdAt,
    ended_at: allocation.endedAt,
  };
}

export async function allocationRoutes(app: FastifyInstance, opts: { allocations: AllocationService; fleets: FleetService }): Promise<void> {
  const { allocations, fleets } = opts;

  app.post<{ Body: AllocateBody }>(
    '/v1/fleet/allocations',
    {
      schema: {
        operationId: 'createAllocation',
        tags,
        summary: 'Allocates a Ready game server of one of the project\'s fleets.',
        description:
          'An unknown fleet is 404; over the fleet\'s max_allocations is 429; no Ready game server is 503 with Retry-After. ' +
          'With Idempotency-Key, a retry within 24 h returns the first answer and changes nothing (a different request with the same key is 409).',
        headers: IdempotencyKeyHeaders,
        body: AllocateBody,
        response: { 201: Allocation },
      },
    },
    async (request, reply) => {
      const { allocation, replayed } = await allocations.allocate(authOf(request), request.body, idempotencyKeyOf(request));
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(allocationView(allocation));
    },
  );

  app.get<{ Querystring: AllocationQuery }>(
    '/v1/fleet/allocations',
    {
      schema: {
        operationId: 'listAllocations',
        tags,
        summary: 'Lists the project\'s allocations, newest first; ?state= and ?fleet= filter.',
        querystring: AllocationQuery,
        response: { 200: Page(Allocation) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const before = decodeCursor(request.query.cursor, isIdCursor)?.before;
      const state = request.query.state;
      const items = await allocations.list(authOf(request), { limit: limit + 1, before, state, fleet: request.query.fleet });
      const page = items.slice(0, limit);
      return { items: page.map(allocationView), next_cursor: items.length > limit ? encodeCursor({ before: page.at(-1)!.id }) : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/fleet/allocations/:id',
    { schema: { operationId: 'getAllocation', tags, params: IdParams, response: { 200: Allocation } } },
    async (request) => allocationView(await allocations.get(authOf(request), request.params.id)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/fleet/allocations/:id',
    {
      schema: {
        operationId: 'releaseAllocation',
        tags,
        summary: 'Releases an allocation: its game server is shut down. Releasing one that already ended is a no-op.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Released.' }) },
      },
    },
    async (request, reply) => {
      await allocations.release(authOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/fleet/fleets',
    {
      schema: {
        operationId: 'listProjectFleets',
        tags,
        summary: 'Lists the fleets this project may allocate from, by name.',
        querystring: PageQuery,
        response: { 200: Page(ProjectFleet) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const items = await fleets.list(authOf(request), limit + 1, decodeCursor(request.query.cursor, isFleetNameCursor)?.after);
      const page = items.slice(0, limit);
      return {
        items: page.map((fleet) => ({
          name: fleet.name,
          backend: fleet.backend,
          labels: fleet.labels,
          max_allocations: fleet.maxAllocations,
          allocation_ttl_seconds: fleet.allocationTtlSeconds,
          created_at: fleet.createdAt,
        })),
        next_cursor: items.length > limit ? encodeCursor({ after: page.at(-1)!.name }) : null,
      };
    },
  );
}
