/**
 * Database failures that are not the client's fault become 503 + Retry-After (the only 5xx a client may see
 * besides a bug; docs/api/conventions.md). Constraint violations are mapped by the service that caught them,
 * where the meaning is known (a taken email is 409, a missing parent is 404).
 */
import { AppError } from '../errors/app-error.js';

const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57', '58'];
/** Socket-level failures of a connection that was open: it is gone (see isConnectionLost). */
const CONNECTION_LOST_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** Those, and the failures to open one. */
const UNAVAILABLE_NODE_CODES = new Set([
  ...CONNECTION_LOST_CODES,
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  // The request's deadline passed (src/internal/deadline.ts), or the pool could not hand out a connection in
  // time / its queue of waiters is full: the database is too slow or frozen, not the client's fault.
  'DEADLINE_EXCEEDED',
  'POOL_TIMEOUT',
  'POOL_QUEUE_FULL',
]);

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlState(error) !== '23505') return false;
  if (constraint === undefined) return true;
  const named = (error as { constraint_name?: string; constraint?: string }).constraint_name ?? (error as { constraint?: string }).constraint;
  return named === constraint;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (UNAVAILABLE_NODE_CODES.has(code)) return true;
  const state = sqlState(code === '' ? undefined : error);
  // 40001/40P01: serialization failure or deadlock that survived our retries.
  return state !== undefined && (UNAVAILABLE_SQLSTATE_CLASSES.includes(state.slice(0, 2)) || state === '40001' || state === '40P01');
}

/**
 * The connection that raised this can never be used again (unlike a statement timeout, 57014): a socket
 * failure, or one of the server's FATALs (57P01-57P03 shutdown, class 08).
 */
export function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return CONNECTION_LOST_CODES.has(code) || /^(08...|57P0[123])$/.test(code);
}

/** What a transaction gets when it would write to a connection already lost (mapped to 503). */
export function connectionLost(): Error {
  return Object.assign(new Error('the database connection was lost'), { code: 'CONNECTION_CLOSED' });
}

export function toUnavailable(error: unknown): AppError {
  return new AppError('unavailable', 'The database is unavailable; try again shortly.', { retryAfterSeconds: 2, cause: error });
}
