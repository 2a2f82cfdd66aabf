/**
 * Every request's deadline (REQUEST_TIMEOUT_MS). Three bounds together mean no request outlives it:
 * - Node's own header and request timeouts (serverTimeouts below) close a client that sends its head or body
 *   too slowly, with a 408 problem written by clientErrorHandler;
 * - Fastify's handlerTimeout answers 503 + Retry-After when the handling is still running (handlerTimedOut
 *   maps it; a body still arriving at that moment is the client's slowness, answered 408);
 * - the request's abort signal is made the ambient deadline (src/internal/deadline.ts) for everything the
 *   handler starts, so the database stops waiting, cancels the statement and rolls the transaction back.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { withDeadline } from '../internal/deadline.js';
import { sendProblem } from './problem.js';

/** Node's HTTP server options for the slow-client bounds. */
export function serverTimeouts(requestTimeoutMs: number): { headersTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: requestTimeoutMs,
    // Node checks these timeouts only this often (30 s by default, which let slow clients hold sockets for up
    // to a minute past a 3 s timeout); a quarter of the bound, at most a second, keeps the overshoot small.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
  };
}

/**
 * Runs the rest of each request's lifecycle under its signal. Twice: from onRequest (credential lookups,
 * bodiless requests), and again from preHandler, because a body arrives through the socket's own callbacks,
 * which do not carry the context entered before it.
 */
export function enterRequestDeadline(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => withDeadline(request.signal, done));
  app.addHook('preHandler', (request, _reply, done) => withDeadline(request.signal, done));
}

/** The answer for Fastify's handler timeout, or undefined for any other error. */
export function handlerTimedOut(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (error.code !== 'FST_ERR_HANDLER_TIMEOUT') return undefined;
  if (!request.raw.complete) {
    // Still waiting for the body: the client is too slow, and the connection cannot be reused mid-body.
    reply.header('connection', 'close');
    return sendProblem(request, reply, 'request-timeout', 408, 'The request body did not arrive in time.');
  }
  return sendProblem(request, reply, 'unavailable', 503, 'The request could not be completed in time; try again shortly.', 1);
}
