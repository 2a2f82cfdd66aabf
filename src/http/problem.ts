/**
 * Every error leaves the server as RFC 9457 problem JSON with the request id, mapped in this one place.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AppError, titleOfSlug, type ProblemSlug } from '../internal/errors/app-error.js';
import { isDatabaseUnavailable, toUnavailable } from '../internal/db/errors.js';
import { cacheUnavailable, isCacheUnavailable } from '../internal/cache/errors.js';
import { closeUnusedUpgrade } from './unused-upgrade.js';
import { indexRouteMethods } from './route-methods.js';

export const PROBLEM_BASE = 'https://ggscale.dev/problems/';

/** What every 401 says about how to authenticate (RFC 9110 §11.6.1: a 401 carries WWW-Authenticate). */
export const BEARER_CHALLENGE = 'Bearer realm="ggscale"';
/** The challenge when a credential was presented and refused (RFC 6750 §3.1). */
export const INVALID_TOKEN_CHALLENGE = `${BEARER_CHALLENGE}, error="invalid_token"`;

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    request_id: Type.String(),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details.' },
);

const slugOfStatus: Record<number, ProblemSlug> = {
  400: 'validation',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  412: 'precondition-failed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'quota-exceeded',
  503: 'unavailable',
};

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  slug: ProblemSlug,
  status: number,
  detail: string,
  retryAfterSeconds?: number,
  extensions?: Readonly<Record<string, unknown>>,
): FastifyReply {
  // Also for errors raised before the onRequest hook ran (framework errors), which would lack both.
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  closeUnusedUpgrade(request, reply);
  if (status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', BEARER_CHALLENGE);
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return reply
    .code(status)
    .type('application/problem+json; charset=utf-8')
    // The standard members last: an extension can never overwrite them.
    .send({ ...extensions, type: PROBLEM_BASE + slug, title: titleOfSlug(slug), status, detail, request_id: request.id });
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const where = error.validationContext ?? 'request';
  const path = first.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where;
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params as { additionalProperty?: string }).additionalProperty;
    return `${path} has an unknown field "${String(extra).slice(0, 64)}".`;
  }
  return `${path} ${first.message ?? 'is invalid'}.`;
}

/** Call before any route is added: the not-found handler learns every route's path and methods. */
export function installProblemHandlers(app: FastifyInstance): void {
  const routes = indexRouteMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.allowed(request.url);
    if (allowed === undefined) {
      return sendProblem(request, reply, 'not-found', 404, `No route for ${request.method} ${request.routeOptions.url ?? 'this path'}.`);
    }
    // A known path: 405 with what it serves (RFC 9110 §15.5.6); a plain OPTIONS (not a CORS preflight, which
    // the CORS hook answers) is told the same with a 204.
    reply.header('allow', allowed.join(', '));
    if (request.method === 'OPTIONS') return reply.code(204).send();
    return sendProblem(request, reply, 'method-not-allowed', 405, `${request.method} is not served here; this path serves ${allowed.join(', ')}.`);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      return sendProblem(request, reply, error.slug, error.status, error.message, error.retryAfterSeconds, error.extensions);
    }
    if (error.validation) return sendProblem(request, reply, 'validation', 400, describeValidation(error));
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      const mapped = toUnavailable(error);
      return sendProblem(request, reply, mapped.slug, mapped.status, mapped.message, mapped.retryAfterSeconds);
    }
    if (isCacheUnavailable(error)) {
      request.log.warn({ err: error }, 'shared cache unavailable');
      const mapped = cacheUnavailable();
      return sendProblem(request, reply, mapped.slug, mapped.status, mapped.message, mapped.retryAfterSeconds);
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const slug = slugOfStatus[status] ?? 'validation';
      return sendProblem(request, reply, slug, status, clientMessage(error));
    }
    if (status === 503) return sendProblem(request, reply, 'unavailable', 503, 'The server is shutting down or overloaded.', 1);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, 'internal', 500, 'An internal error occurred.');
  });
}

/** Fastify's own 4xx messages are safe to show; keep them short. */
function clientMessage(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is larger than allowed.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'This content type is not accepted here; send application/json.';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The JSON body is empty.';
    default:
      return error.message.slice(0, 300);
  }
}
