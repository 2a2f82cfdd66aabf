/**
 * The OpenAPI 3.1 document, generated from the route schemas (never written by hand). Every operation gets
 * the problem responses it can produce and an operationId; routes opt out with `schema.hide`.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ProblemSchema } from './problem.js';

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

/** Responses every operation can produce, added unless the route described them itself. */
const COMMON_ERRORS: Record<string, unknown> = {
  '400': problemResponse('The request is malformed or fails validation.'),
  '429': problemResponse('A rate limit was exceeded; see Retry-After.'),
  '500': problemResponse('A bug in ggscale.'),
  '503': problemResponse('A dependency is unavailable; see Retry-After.'),
};

const AUTH_ERRORS: Record<string, unknown> = {
  '401': problemResponse('The credential is missing, unknown or revoked.'),
  '403': problemResponse('The credential is of the wrong kind for this route.'),
};

/** Adds the given problem responses to a route's schema unless it described them itself. */
export function addResponses(route: RouteOptions, responses: Record<string, unknown>): void {
  if (!route.schema || (route.schema as { hide?: boolean }).hide) return;
  const response = (route.schema.response ?? {}) as Record<string, unknown>;
  for (const [status, value] of Object.entries(responses)) if (!(status in response)) response[status] = value;
  route.schema.response = response;
}

/**
 * Every operation has a summary (derived from its operationId when the route gave none) and an explicit
 * security requirement (public routes say `[]`; authenticated contexts replace it, see documentAuth).
 */
function describeOperation(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; summary?: string; operationId?: string; security?: unknown } | undefined;
  if (!schema || schema.hide) return;
  if (!schema.summary && schema.operationId) {
    const words = schema.operationId.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
    schema.summary = words.charAt(0).toUpperCase() + words.slice(1) + '.';
  }
  schema.security ??= [];
}

/** For routes inside an authenticated context: the security requirement and its errors. */
export function documentAuth(route: RouteOptions, accept: string[]): void {
  if (!route.schema) return;
  route.schema = { ...route.schema, security: [{ bearer: [] }] };
  (route.schema as { description?: string }).description ??= `Credential: ${accept.join(' or ')}.`;
  addResponses(route, AUTH_ERRORS);
}

export async function registerOpenApi(app: FastifyInstance, publicUrl: string, version: string): Promise<void> {
  app.addSchema(ProblemSchema);
  app.addHook('onRoute', (route) => {
    addResponses(route, COMMON_ERRORS);
    describeOperation(route);
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ggscale',
        description: 'Open, self-hostable, multi-tenant game backend.',
        version,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Operator token, API key or player access token.' },
        },
      },
    },
    // An explicit HEAD route is listed under its own operationId (the plugin appends '-head' to it).
    transform: ({ schema, url, route }) => ({
      schema: route.method === 'HEAD' && schema?.operationId?.endsWith('-head') ? { ...schema, operationId: schema.operationId.slice(0, -'-head'.length) } : schema,
      url,
    }),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}
