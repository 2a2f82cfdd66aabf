/**
 * The request's deadline, carried to the database layer without threading it through every service call.
 *
 * The HTTP layer runs each request's lifecycle inside `withDeadline(request.signal, …)`; Fastify aborts that
 * signal when REQUEST_TIMEOUT_MS passes (handlerTimeout) and answers 503. Code below reads the signal with
 * `currentDeadline()`: the database pool stops waiting for a connection, cancels the running statement
 * (CancelRequest) and discards the connection, so the transaction is rolled back rather than committed after
 * the client was told it failed. Background work has no deadline (undefined) and relies on the drivers' own
 * bounds (acquire timeout, statement timeout).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<AbortSignal>();

/** Runs fn (and everything it starts) under `signal`. */
export function withDeadline<T>(signal: AbortSignal, fn: () => T): T {
  return storage.run(signal, fn);
}

/**
 * Runs fn outside any request's deadline: for work a request starts and does not wait for (a purge, a
 * cleanup), which must not be cancelled when that request's client goes away or its deadline passes.
 */
export function withoutDeadline<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** The signal of the request being served, if any. */
export function currentDeadline(): AbortSignal | undefined {
  return storage.getStore();
}

export const DEADLINE_EXCEEDED = 'DEADLINE_EXCEEDED';

/** What database work fails with once its request's deadline has passed (mapped to 503 + Retry-After). */
export function deadlineExceeded(): Error {
  return Object.assign(new Error('the request deadline passed before the database answered'), { code: DEADLINE_EXCEEDED });
}
