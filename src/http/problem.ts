/**
 * Every error leaves the server as RFC 9457 problem JSON with the request id, mapped in this one place.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AppError, titleOfSlug, type ProblemSlug } from '../internal/errors/app-error.js';
import { isDatabaseUnavailable, toUnavailable } from '../internal/db/errors.js';
import { closeUnusedUpgrade } from './unused-upgrade.js';
import { handlerTimedOut } from './deadline.js';

export const PROBLEM_BASE = 'https://ggscale.dev/problems/';

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
): FastifyReply {
  // Also for errors raised before the onRequest hook ran (framework errors), which would lack both.
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  closeUnusedUpgrade(request, reply);
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return reply
    .code(status)
    .type('application/problem+json; charset=utf-8')
    .send({ type: PROBLEM_BASE + slug, title: titleOfSlug(slug), status, detail, request_id: request.id });
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

export function installProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, 'not-found', 404, `No route for ${request.method} ${request.routeOptions.url ?? 'this path'}.`),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      return sendProblem(request, reply, error.slug, error.status, error.message, error.retryAfterSeconds);
    }
    if (error.validation) return sendProblem(request, reply, 'validation', 400, describeValidation(error));
    const timedOut = handlerTimedOut(error, request, reply);
    if (timedOut) return timedOut;
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      const mapped = toUnavailable(error);
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
