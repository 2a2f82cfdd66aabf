/** The operator's fleet routes (/v1/admin/projects/{project_id}/fleets), in the operator auth context. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Id, Page, PageQuery, decodeCursor, encodeCursor } from '../../../http/schemas.js';
import type { TenancyApi } from '../../tenancy/api.js';
import type { FleetService } from '../fleet-service.js';
import type { FleetRecord } from '../fleet-store.js';
import { Fleet, FleetName, FleetPatchBody, FleetRegistrationBody, isFleetNameCursor } from './schemas.js';

const tags = ['operator'];
const ProjectParams = Type.Object({ project_id: Id }, { additionalProperties: false });
const FleetParams = Type.Object({ project_id: Id, name: FleetName }, { additionalProperties: false });

const actorOf = (request: FastifyRequest) => ({ actor: 'operator', ip: request.ip });

export function fleetView(fleet: FleetRecord) {
  return {
    id: fleet.id,
    project_id: fleet.projectId,
    name: fleet.name,
    backend: fleet.backend,
    labels: fleet.labels,
    max_allocations: fleet.maxAllocations,
    allocation_ttl_seconds: fleet.allocationTtlSeconds,
    command: fleet.command,
    agones_fleet: fleet.agonesFleet,
    created_at: fleet.createdAt,
  };
}

export async function fleetAdminRoutes(app: FastifyInstance, opts: { fleets: FleetService; tenancy: Pick<TenancyApi, 'projectScope'> }): Promise<void> {
  const { fleets, tenancy } = opts;

  app.post<{ Params: { project_id: string }; Body: FleetRegistrationBody }>(
    '/v1/admin/projects/:project_id/fleets',
    {
      schema: {
        operationId: 'createFleet',
        tags,
        summary: 'Registers a fleet the project may allocate game servers from.',
        params: ProjectParams,
        body: FleetRegistrationBody,
        response: { 201: Fleet },
      },
    },
    async (request, reply) => {
      const scope = await tenancy.projectScope(request.params.project_id);
      return reply.code(201).send(fleetView(await fleets.create(actorOf(request), scope, request.body)));
    },
  );

  app.get<{ Params: { project_id: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/v1/admin/projects/:project_id/fleets',
    {
      schema: {
        operationId: 'listFleets',
        tags,
        summary: 'Lists the project\'s fleets by name (with FLEET_BACKEND=local, at least its `default` fleet).',
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: Page(Fleet) },
      },
    },
    async (request) => {
      const scope = await tenancy.projectScope(request.params.project_id);
      const limit = request.query.limit ?? 20;
      const items = await fleets.list(scope, limit + 1, decodeCursor(request.query.cursor, isFleetNameCursor)?.after);
      const page = items.slice(0, limit);
      return { items: page.map(fleetView), next_cursor: items.length > limit ? encodeCursor({ after: page.at(-1)!.name }) : null };
    },
  );

  app.patch<{ Params: { project_id: string; name: string }; Body: FleetPatchBody }>(
    '/v1/admin/projects/:project_id/fleets/:name',
    {
      schema: {
        operationId: 'updateFleet',
        tags,
        summary: 'Changes a fleet\'s quota or allocation TTL.',
        params: FleetParams,
        body: FleetPatchBody,
        response: { 200: Fleet },
      },
    },
    async (request) => {
      const scope = await tenancy.projectScope(request.params.project_id);
      return fleetView(await fleets.update(actorOf(request), scope, request.params.name, request.body));
    },
  );

  app.delete<{ Params: { project_id: string; name: string } }>(
    '/v1/admin/projects/:project_id/fleets/:name',
    {
      schema: {
        operationId: 'deleteFleet',
        tags,
        summary: 'Deletes a fleet: its live allocations are released and its game servers shut down.',
        params: FleetParams,
        response: { 204: Type.Null({ description: 'Deleted.' }) },
      },
    },
    async (request, reply) => {
      const scope = await tenancy.projectScope(request.params.project_id);
      await fleets.remove(actorOf(request), scope, request.params.name);
      return reply.code(204).send();
    },
  );
}
