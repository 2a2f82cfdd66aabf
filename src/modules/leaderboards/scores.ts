/**
 * Scores are signed 64-bit integers (docs/api/leaderboards.md): JSON numbers when they fit in 2^53, decimal
 * strings beyond, both accepted on input. They are parsed with BigInt and never pass through a double, so
 * every value from -2^63 to 2^63-1 comes back exactly as it went in.
 */
import { Type } from '@sinclair/typebox';
import { validation } from '../../internal/errors/app-error.js';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** The schema of a 64-bit integer on input and output: an integer number or a decimal string. */
export const Int64 = Type.Union(
  [Type.Integer(), Type.String({ pattern: '^-?[0-9]{1,19}$', maxLength: 20 })],
  { description: 'A signed 64-bit integer: a JSON number when it fits in 2^53, else a decimal string.' },
);

/** Parses a score from the body; `field` names it in the 400 answer. */
export function parseInt64(value: number | string, field: string): bigint {
  let parsed: bigint;
  if (typeof value === 'number') {
    // JSON.parse has already rounded numbers beyond 2^53: such a value is ambiguous, so it is refused.
    if (!Number.isSafeInteger(value)) {
      throw validation(`${field} must be an integer; beyond 2^53 send it as a decimal string.`);
    }
    parsed = BigInt(value);
  } else {
    if (!/^-?[0-9]{1,19}$/.test(value)) throw validation(`${field} must be a decimal integer.`);
    parsed = BigInt(value);
  }
  if (parsed < INT64_MIN || parsed > INT64_MAX) throw validation(`${field} must fit in a signed 64-bit integer.`);
  return parsed;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The API's form of a 64-bit integer: a number when it is exact as one, else a decimal string. */
export function formatInt64(value: bigint | string): number | string {
  const big = typeof value === 'string' ? BigInt(value) : value;
  return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big.toString();
}

export const MAX_METADATA_BYTES = 2048;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Strings Postgres' jsonb cannot hold (NUL) or that are not valid Unicode (lone surrogates). */
function checkStrings(value: unknown, depth: number): void {
  if (depth > 32) throw validation('metadata is nested too deeply.');
  if (typeof value === 'string') {
    if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
      throw validation('metadata must not contain NUL characters or unpaired surrogates.');
    }
  } else if (Array.isArray(value)) {
    for (const item of value) checkStrings(item, depth + 1);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      checkStrings(key, depth + 1);
      checkStrings(item, depth + 1);
    }
  }
}

/** Validates metadata (at most 2 KiB of JSON, storable as jsonb) and returns its JSON text. */
export function metadataJson(metadata: Record<string, unknown>, field = 'metadata'): string {
  const json = JSON.stringify(metadata);
  if (Buffer.byteLength(json, 'utf8') > MAX_METADATA_BYTES) {
    throw validation(`${field} must be at most ${MAX_METADATA_BYTES} bytes of JSON.`);
  }
  checkStrings(metadata, 0);
  return json;
}
