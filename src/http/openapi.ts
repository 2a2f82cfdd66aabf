/**
 * The OpenAPI 3.1 document, generated from the route schemas (never written by hand). Every operation gets
 * the problem responses it can produce, an operationId, and one security scheme per credential kind its route
 * accepts; routes opt out with `schema.hide`. What the route schemas cannot carry without changing how a
 * request is handled (a raw-bytes body, the problem answers of a WebSocket upgrade) is added to the document
 * only, by the plugin's transform.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import type { CredentialKind } from './auth-context.js';
import { ProblemSchema } from './problem.js';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * Documentation only: the route reads its body as raw bytes of any media type, with a parser of its own
     * context, so it declares no `body` (which Fastify would validate).
     */
    rawBody?: RawBodyDoc;
  }
}

export interface RawBodyDoc {
  description: string;
  maxBytes: number;
}

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
 * security requirement of its own (public routes say `[]`; authenticated contexts fill it, see documentAuth).
 */
function describeOperation(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; summary?: string; operationId?: string; security?: unknown } | undefined;
  if (!schema || schema.hide) return;
  if (!schema.summary && schema.operationId) {
    const words = schema.operationId.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
    schema.summary = words.charAt(0).toUpperCase() + words.slice(1) + '.';
  }
  schema.security = Array.isArray(schema.security) ? [...(schema.security as unknown[])] : [];
}

/** The security scheme of each credential kind, sent as `Authorization: Bearer <credential>`. */
const HEADER_SCHEME: Record<CredentialKind, string> = {
  operator: 'operatorToken',
  secret: 'secretKey',
  publishable: 'publishableKey',
  player: 'playerToken',
};

/** The kinds a context may also take as `?token=` (see documentAuth's `query`). */
const QUERY_SCHEME: Partial<Record<CredentialKind, string>> = { player: 'playerTokenQuery' };

const SECURITY_SCHEMES = {
  operatorToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'The operator token (GGSCALE_ADMIN_TOKEN, at least 32 characters), held by whoever runs ggscale. Accepted by the /v1/admin routes only.',
  },
  secretKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      "A secret API key (ggs_sk_...), for a studio's own servers: everything in its project, on behalf of any player of the project. " +
      'Never ship it inside a game client.',
  },
  publishableKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'A publishable API key (ggs_pk_...), shipped inside game clients and so public: it only signs players in (/v1/auth sign-in routes).',
  },
  playerToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "A player's access token (a short-lived JWT from sign-in or refresh): the player's own data in its project, and what the project publishes to players.",
  },
  playerTokenQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      "The player's access token as ?token=, for the realtime WebSocket from clients that cannot set headers (browsers). It is never logged.",
  },
} as const;

type SecurityRequirement = Record<string, string[]>;

/**
 * For routes inside an authenticated context: one security alternative per accepted kind (as a Bearer
 * header, and as `?token=` where the context also reads it: `query`), and the auth errors.
 */
export function documentAuth(route: RouteOptions, accept: readonly CredentialKind[], options: { query?: boolean } = {}): void {
  if (!route.schema) return;
  const alternatives: SecurityRequirement[] = accept.map((kind) => ({ [HEADER_SCHEME[kind]]: [] }));
  if (options.query) {
    for (const kind of accept) {
      const scheme = QUERY_SCHEME[kind];
      if (scheme) alternatives.push({ [scheme]: [] });
    }
  }
  // In place, into the array describeOperation gave the route: @fastify/swagger keeps its own shallow copy
  // of an explicit HEAD route's schema, taken before this hook runs (a parent context's onRoute hooks run
  // first), and that copy shares this array.
  const security = route.schema.security as SecurityRequirement[] | undefined;
  if (security) security.splice(0, security.length, ...alternatives);
  else route.schema.security = alternatives;
  addResponses(route, AUTH_ERRORS);
}

/** The default answer of an operation whose only success is not a 2XX (the WebSocket upgrade's 101). */
const REFUSED = problemResponse('Any other status: the request was refused before it succeeded (problem JSON).');

/**
 * Document-only additions, on a copy of the schema (the route's own was compiled long before): the operation
 * of an explicit HEAD route under its own operationId (the plugin appends '-head' to it), a raw body, and a
 * default problem response where no 2XX is listed (Redocly's operation-2xx-response).
 */
function documentOnly(method: RouteOptions['method'], schema: FastifySchema): FastifySchema {
  // A route without a schema comes through too, whatever the plugin's types say.
  if (!(schema as FastifySchema | undefined) || schema.hide) return schema;
  const documented: FastifySchema = { ...schema };
  if (method === 'HEAD' && documented.operationId?.endsWith('-head')) documented.operationId = documented.operationId.slice(0, -'-head'.length);
  if (documented.rawBody) {
    const { description, maxBytes } = documented.rawBody;
    delete documented.rawBody;
    // The plugin documents a `body` with `consumes` as a required request body; this copy is never compiled.
    documented.body = { type: 'string', format: 'binary', maxLength: maxBytes, description: `${description} At most ${maxBytes} bytes.` };
    documented.consumes = ['*/*'];
  }
  const responses = (documented.response ?? {}) as Record<string, unknown>;
  if (!Object.keys(responses).some((status) => status.startsWith('2') || status === 'default')) {
    documented.response = { ...responses, default: REFUSED };
  }
  return documented;
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
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: ({ schema, url, route }) => ({ schema: documentOnly(route.method, schema), url }),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}
