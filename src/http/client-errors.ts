/**
 * Requests that Node's HTTP parser refuses (a malformed request line, invalid bytes or a bare CR in a header,
 * an oversized head, broken chunked framing, a request timeout) never reach routing, and Fastify's default
 * answer for them is its own JSON shape. Here they are RFC 9457 problem JSON with a request id, like every
 * other error; found by the bad-input fuzzer's socket pass.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { statusOfSlug, titleOfSlug, validation, type AppError, type ProblemSlug } from '../internal/errors/app-error.js';
import { PROBLEM_BASE } from './problem.js';
import { requestIdOf } from './request-id.js';

function classify(code: string | undefined): { slug: ProblemSlug; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { slug: 'headers-too-large', detail: 'The request line and headers are larger than allowed.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { slug: 'request-timeout', detail: 'The request did not arrive in time.' };
    default:
      // The parser's code (e.g. HPE_INVALID_HEADER_TOKEN) names the fault without echoing the client's bytes.
      return { slug: 'validation', detail: `The request is not valid HTTP/1.1${code ? ` (${code})` : ''}.` };
  }
}

/** Writes a problem answer straight onto a socket that never became a Fastify request, then closes it. */
function answerOnSocket(socket: Duplex, slug: ProblemSlug, detail: string, requestId: string, error?: Error, headers: string[] = []): void {
  const status = statusOfSlug[slug];
  const body = JSON.stringify({ type: PROBLEM_BASE + slug, title: titleOfSlug(slug), status, detail, request_id: requestId });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        headers.map((header) => `${header}\r\n`).join('') +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}

/** Fastify's clientErrorHandler: answers on the raw socket, then closes it (the stream cannot be trusted). */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { slug, detail } = classify(error.code);
  answerOnSocket(socket, slug, detail, randomUUID(), error);
}

/**
 * A server 'connect' listener: without one Node drops a CONNECT without a word. ggscale is no proxy: no
 * method applies to a CONNECT target, which a 405's (required) Allow says by being empty (RFC 9110 §10.2.1).
 */
export function refuseConnect(request: IncomingMessage, socket: Duplex): void {
  answerOnSocket(socket, 'method-not-allowed', 'CONNECT is not supported.', requestIdOf(request), undefined, ['Allow: ']);
}

/**
 * An `Expect` other than 100-continue: without a listener Node answers a bare 417 itself. A server's
 * 'checkExpectation' listener: the same 417, as problem JSON.
 */
export function refuseExpectation(request: IncomingMessage, response: ServerResponse): void {
  const requestId = requestIdOf(request);
  const slug: ProblemSlug = 'expectation-failed';
  const status = statusOfSlug[slug];
  const body = JSON.stringify({
    type: PROBLEM_BASE + slug,
    title: titleOfSlug(slug),
    status,
    detail: 'Only "Expect: 100-continue" is supported.',
    request_id: requestId,
  });
  response.writeHead(status, {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  response.end(body);
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400. Node checks that itself and answers a bare 400
 * (no body), so its check is off (`requireHostHeader: false`) and the app's onRequest hook answers this
 * problem instead.
 */
export function missingHost(request: FastifyRequest): AppError | undefined {
  return request.raw.httpVersion === '1.1' && request.headers.host === undefined ? validation('An HTTP/1.1 request needs a Host header.') : undefined;
}
