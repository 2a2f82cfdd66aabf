/** Schema pieces shared by routes. Every string and array is bounded; objects are closed. */
import { Type, type TSchema } from '@sinclair/typebox';
import { validation } from '../internal/errors/app-error.js';

/** Ids are opaque decimal strings; at most 18 digits so any value is a valid bigint (no 5xx on overflow). */
export const Id = Type.String({ pattern: '^[1-9][0-9]{0,17}$', maxLength: 18, description: 'An opaque id.' });
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 });

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false });

/** Opaque cursors: base64url JSON, validated on the way back in. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, isValid: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // Fall through: not one of ours.
  }
  throw validation('The cursor is not valid here.');
}
