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
function commonErrors(route: RouteOptions): Record<string, unknown> {
  const errors: Record<string, unknown> = {
    '400': problemResponse('The request is malformed or fails validation.'),
    '429': problemResponse('A rate limit was exceeded; see Retry-After.'),
    '500': problemResponse('A bug in ggscale.'),
    '503': problemResponse('A dependency is unavailable; see Retry-After.'),
  };
  if (route.config && (route.config as { auth?: unknown }).auth) {
    errors['401'] = problemResponse('The credential is missing, unknown or revoked.');
    errors['403'] = problemResponse('The credential is of the wrong kind for this route.');
  }
  return errors;
}

export async function registerOpenApi(app: FastifyInstance, publicUrl: string, version: string): Promise<void> {
  app.addSchema(ProblemSchema);
  app.addHook('onRoute', (route) => {
    if (!route.schema || (route.schema as { hide?: boolean }).hide) return;
    const response = (route.schema.response ?? {}) as Record<string, unknown>;
    for (const [status, value] of Object.entries(commonErrors(route))) {
      if (!(status in response)) response[status] = value;
    }
    route.schema.response = response;
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
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}
