/**
 * API keys: `ggs_sk_<43 base64url chars>` (secret) or `ggs_pk_...` (publishable), 256 random bits.
 * Stored only as SHA-256; the first characters are kept as a visible, non-secret prefix.
 */
import { createHash, randomBytes } from 'node:crypto';

export type ApiKeyKind = 'secret' | 'publishable';

const PREFIX: Record<ApiKeyKind, string> = { secret: 'ggs_sk_', publishable: 'ggs_pk_' };
const KEY_PATTERN = /^ggs_(sk|pk)_[A-Za-z0-9_-]{43}$/;
const VISIBLE_CHARS = 6;

export function generateApiKey(kind: ApiKeyKind): { key: string; hash: Buffer; prefix: string } {
  const key = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, PREFIX[kind].length + VISIBLE_CHARS) };
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export function looksLikeApiKey(credential: string): boolean {
  return KEY_PATTERN.test(credential);
}
