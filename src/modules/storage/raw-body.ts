/**
 * Object bodies are raw bytes of any media type. The parser counts bytes as they arrive and gives up with
 * 413 as soon as the limit is passed, so an oversized upload is never buffered (Fastify then answers with
 * `Connection: close`, and the rest of the upload is never read).
 */
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../internal/errors/app-error.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const TOKEN = "[A-Za-z0-9!#$%&'*+.^_`|~-]+";
const QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t\\x20-\\x7e])*"';
// RFC 9110 §8.3.1 media-type = type "/" subtype parameters, in printable ASCII (it is sent back verbatim).
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*[ \\t]*$`);
const MAX_CONTENT_TYPE = 255;

export const payloadTooLarge = (maxBytes: number) =>
  new AppError('payload-too-large', `An object body may be at most ${maxBytes} bytes (STORAGE_MAX_OBJECT_BYTES).`);

/** The Content-Type to store: the client's, checked, or application/octet-stream when it sent none. */
export function storedContentType(header: string | undefined): string {
  if (header === undefined) return DEFAULT_CONTENT_TYPE;
  const value = header.trim();
  if (value.length === 0 || value.length > MAX_CONTENT_TYPE || !MEDIA_TYPE.test(value)) {
    throw new AppError('unsupported-media-type', `Content-Type must be a media type such as application/octet-stream, at most ${MAX_CONTENT_TYPE} characters.`);
  }
  return value;
}

/** A content-type parser (for every media type) that reads at most maxBytes of the body. */
export function limitedRawBody(maxBytes: number) {
  return (request: FastifyRequest, payload: Readable, done: (error: Error | null, body?: Buffer) => void): void => {
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      done(payloadTooLarge(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (error: Error | null, body?: Buffer) => {
      if (settled) return;
      settled = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      // The error listener stays (settle ignores later calls): a reset after the 413 must not go unhandled.
      done(error, body);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        chunks.length = 0;
        payload.pause();
        settle(payloadTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(null, Buffer.concat(chunks, received));
    payload.on('data', onData);
    payload.once('end', onEnd);
    payload.once('error', settle);
  };
}
