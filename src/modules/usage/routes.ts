/** The operator's usage endpoint, inside a context that accepts only the operator token. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Id, Timestamp } from '../../http/schemas.js';
import { METERS } from './meters.js';
import type { UsageQuery, UsageService } from './usage-service.js';

const Meter = Type.Union(METERS.map((meter) => Type.Literal(meter)));
const Granularity = Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('month')]);
// Bounded here; the format and the alignment are checked by the service, each with its own message.
const Instant = Type.String({ minLength: 1, maxLength: 40, description: 'RFC 3339, aligned to the granularity in UTC.' });

const Query = Type.Object(
  { from: Instant, to: Instant, granularity: Granularity, meter: Type.Optional(Meter), project_id: Type.Optional(Id) },
  { additionalProperties: false },
);
const Item = Type.Object(
  { start: Timestamp, meter: Meter, project_id: Type.Union([Id, Type.Null()]), value: Type.Integer({ minimum: 0 }), final: Type.Boolean() },
  { additionalProperties: false },
);
const Report = Type.Object(
  { tenant_id: Id, granularity: Granularity, from: Timestamp, to: Timestamp, items: Type.Array(Item) },
  { additionalProperties: false },
);

export async function usageRoutes(app: FastifyInstance, service: UsageService): Promise<void> {
  app.get<{ Params: { tenant_id: string }; Querystring: UsageQuery }>(
    '/v1/admin/tenants/:tenant_id/usage',
    {
      schema: {
        operationId: 'getTenantUsage',
        tags: ['operator'],
        params: Type.Object({ tenant_id: Id }, { additionalProperties: false }),
        querystring: Query,
        response: { 200: Report },
      },
    },
    async (request) => service.report(request.params.tenant_id, request.query),
  );
}
