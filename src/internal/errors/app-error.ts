/**
 * One error taxonomy for the whole server. Services throw AppError; the HTTP layer maps it once to
 * RFC 9457 problem JSON (src/http/problem.ts). `slug` becomes https://ggscale.dev/problems/<slug>.
 */
export type ProblemSlug =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'validation'
  | 'conflict'
  | 'precondition-failed'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'request-timeout'
  | 'expectation-failed'
  | 'headers-too-large'
  | 'quota-exceeded'
  | 'limit-reached'
  | 'plan-limit'
  | 'reauth-required'
  | 'csrf'
  | 'gone'
  | 'unavailable'
  | 'internal';

export const statusOfSlug: Record<ProblemSlug, number> = {
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  validation: 400,
  conflict: 409,
  'precondition-failed': 412,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'method-not-allowed': 405,
  'request-timeout': 408,
  'expectation-failed': 417,
  'headers-too-large': 431,
  'quota-exceeded': 429,
  'limit-reached': 409,
  'plan-limit': 429,
  'reauth-required': 403,
  csrf: 403,
  gone: 410,
  unavailable: 503,
  internal: 500,
};

const titles: Record<ProblemSlug, string> = {
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  validation: 'Invalid request',
  conflict: 'Conflict',
  'precondition-failed': 'Precondition failed',
  'payload-too-large': 'Payload too large',
  'unsupported-media-type': 'Unsupported media type',
  'method-not-allowed': 'Method not allowed',
  'request-timeout': 'Request timeout',
  'expectation-failed': 'Expectation failed',
  'headers-too-large': 'Request headers too large',
  'quota-exceeded': 'Quota exceeded',
  'limit-reached': 'Limit reached',
  'plan-limit': 'Plan limit reached',
  'reauth-required': 'Re-authentication required',
  csrf: 'Cross-site request refused',
  gone: 'Gone',
  unavailable: 'Service unavailable',
  internal: 'Internal error',
};

export function titleOfSlug(slug: ProblemSlug): string {
  return titles[slug];
}

export interface AppErrorOptions {
  /** Overrides the slug's default status (e.g. quota-exceeded is 413 for storage quotas). */
  status?: number;
  /** Seconds, sent as Retry-After (429 and 503). */
  retryAfterSeconds?: number;
  /** Extra members of the problem document (and of a realtime error frame): `limit`, `player_ids`, `meter`. */
  extensions?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly extensions?: Readonly<Record<string, unknown>>;

  constructor(slug: ProblemSlug, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.slug = slug;
    this.status = options.status ?? statusOfSlug[slug];
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.extensions !== undefined) this.extensions = options.extensions;
  }
}

export const notFound = (detail = 'The resource does not exist.') => new AppError('not-found', detail);
export const validation = (detail: string) => new AppError('validation', detail);
export const conflict = (detail: string) => new AppError('conflict', detail);
export const unauthorized = (detail = 'The credential is missing, unknown or revoked.') =>
  new AppError('unauthorized', detail);
export const forbidden = (detail: string) => new AppError('forbidden', detail);
/** A count bound on a resource is reached (friends, party size, room members): retrying does not help. */
export const limitReached = (detail: string, limit: number) => new AppError('limit-reached', detail, { extensions: { limit } });
export const unavailable = (detail: string, retryAfterSeconds = 1) =>
  new AppError('unavailable', detail, { retryAfterSeconds });
