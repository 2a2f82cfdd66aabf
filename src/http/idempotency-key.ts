/**
 * The `Idempotency-Key` request header (docs/api/conventions.md), as every route that honours it reads and
 * documents it. What a key means is the idempotency module's business; this is only the header.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { validation } from '../internal/errors/app-error.js';

const KEY = /^[\x20-\x7e]{1,255}$/;

/** The header's schema: route schemas declare it with `headers: IdempotencyKeyHeaders`. */
export const IdempotencyKeyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7e]+$',
      description: 'A retry with the same key within 24 h returns the first answer and changes nothing; the same key with another request is 409.',
    }),
  ),
});

/** The request's key, or undefined without one; anything but 1–255 printable ASCII characters is a 400 problem. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY.test(value)) throw validation('Idempotency-Key must be 1 to 255 printable ASCII characters.');
  return value;
}
