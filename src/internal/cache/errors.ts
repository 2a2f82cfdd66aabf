/**
 * Errors that mean the shared cache (Redis) cannot answer right now: its client fails fast instead of
 * queueing (no offline queue, no retries, a command timeout; see redis.ts), so a request that needed it is
 * answered 503 `unavailable` (or the same code in an error frame), never 500.
 */
import { unavailable, type AppError } from '../errors/app-error.js';

const UNAVAILABLE_MESSAGES = [/^Command timed out/, /^Stream isn't writeable/, /^Connection is closed/, /^Reached the max retries per request limit/];

export function isCacheUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

export function cacheUnavailable(): AppError {
  return unavailable('The shared cache is briefly unreachable; try again shortly.', 1);
}
