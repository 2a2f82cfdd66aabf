/** What makes two requests the same: SHA-256 over their JSON with object keys sorted. */
import { createHash } from 'node:crypto';

/** Key order must not make two equal requests differ; arrays keep theirs (it means something). */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(canonical);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

export function requestHash(request: unknown): Buffer {
  return createHash('sha256').update(JSON.stringify(canonical(request))).digest();
}
