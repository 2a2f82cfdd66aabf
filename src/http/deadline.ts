/**
 * Every request's deadline (REQUEST_TIMEOUT_MS). Three bounds together mean no request outlives it:
 * - Node's own header and request timeouts (serverTimeouts below) close a client that sends its head or body
 *   too slowly, with a 408 problem written by clientErrorHandler;
 * - a timer per request answers 503 + Retry-After when the handling is still running at the deadline (408 if
 *   the body is still arriving: then the client is the slow one);
 * - the request's deadline signal is made the ambient deadline (src/internal/deadline.ts) for everything the
 *   request starts, so the database stops waiting, cancels the statement and rolls the transaction back.
 *
 * Not Fastify's handlerTimeout: it aborts its signal and clears its timer on the request stream's 'close',
 * which Node emits as soon as a body has been read, so every request with a body lost its deadline (and the
 * database saw an aborted signal at once).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { deadlineExceeded, withDeadline } from '../internal/deadline.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Aborted when REQUEST_TIMEOUT_MS passes, or when the client goes away before its answer. */
    deadline: AbortSignal | null;
  }
}

const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();

const GRACE_FOR_OWN_TIMER_MS = 1_000;

/** Node's HTTP server options for the slow-client bounds. */
export function serverTimeouts(requestTimeoutMs: number): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  return {
    // Both at creation: Node refuses a headersTimeout above the requestTimeout it has at that moment. The
    // whole-request bound is a little later than our own timer, so a routed request is answered by expire()
    // (503, or 408 when its body is what is late) rather than racing Node's own 408 at the same instant.
    requestTimeout: requestTimeoutMs + GRACE_FOR_OWN_TIMER_MS,
    headersTimeout: requestTimeoutMs,
    // Node checks these timeouts only this often (30 s by default, which let slow clients hold sockets for up
    // to a minute past a 3 s timeout); a quarter of the bound, at most a second, keeps the overshoot small.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
  };
}

/**
 * Starts each request's deadline and runs the rest of its lifecycle under it. Entered twice: from onRequest
 * (credential lookups, bodiless requests), and again from preHandler, because a body arrives through the
 * socket's own callbacks, which do not carry the context entered before it.
 */
export function installRequestDeadline(app: FastifyInstance, timeoutMs: number): void {
  app.decorateRequest('deadline', null);
  app.addHook('onRequest', (request, reply, done) => {
    const controller = new AbortController();
    const timer = setTimeout(expire, timeoutMs, request, reply, controller);
    timers.set(request, timer);
    reply.raw.once('close', () => {
      clearTimeout(timer);
      // The client went away before its answer: the work it started is for nobody. (An upgraded request's
      // reply was hijacked: its socket lives on as a WebSocket, and so does its work.)
      if (!reply.raw.writableFinished && !reply.sent && !controller.signal.aborted) controller.abort(deadlineExceeded());
    });
    request.deadline = controller.signal;
    withDeadline(controller.signal, done);
  });
  app.addHook('preHandler', (request, _reply, done) => (request.deadline ? withDeadline(request.deadline, done) : done()));
  // Answered: the deadline no longer applies (work the request left running in the background keeps going).
  app.addHook('onResponse', (request, _reply, done) => {
    clearTimeout(timers.get(request));
    done();
  });
}

function expire(request: FastifyRequest, reply: FastifyReply, controller: AbortController): void {
  // Answered requests are done; upgraded (WebSocket) ones were hijacked and live on as sockets. An upgrade
  // still waiting (its credential, its cap) is answered 503 like any other request.
  const upgrade = (request.raw as { upgrade?: boolean }).upgrade === true;
  if (reply.raw.writableFinished || (upgrade && reply.sent)) return;
  controller.abort(deadlineExceeded());
  if (reply.sent || reply.raw.headersSent) {
    // An answer that started but cannot finish in time (a client reading a download too slowly).
    if (!reply.raw.writableEnded) reply.raw.destroy();
    return;
  }
  if (!request.raw.complete) {
    // Still waiting for the body: the client is too slow, and the connection cannot be reused mid-body.
    reply.header('connection', 'close');
    void sendProblem(request, reply, 'request-timeout', 408, 'The request body did not arrive in time.');
  } else {
    void sendProblem(request, reply, 'unavailable', 503, 'The request could not be completed in time; try again shortly.', 1);
  }
  // The handler may still finish later: its answer is dropped quietly rather than logged as a double reply.
  reply.hijack();
}
