/**
 * What the idempotency module offers the others (the only file of this folder another module may import):
 * Idempotency-Key claims that live in the caller's own transaction (docs/api/conventions.md). A retry with
 * the same key within 24 h gets the first answer and changes nothing; the same key with another request is
 * 409. A claim commits or rolls back with the work it guards, so a request that failed leaves no key behind.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Queryable } from '../../internal/db/database.js';
import { conflict, type AppError } from '../../internal/errors/app-error.js';

/** One use of an Idempotency-Key. Keys are per (project, operation, caller, key). */
export interface IdempotentRequest {
  /** The route that honours the key ('leaderboards.submit', 'fleet.allocate'): `^[a-z][a-z0-9_.-]{0,63}$`. */
  operation: string;
  /** Whose keys these are within the project, as the route decides ('player:<id>', 'secret', 'project'). */
  caller: string;
  /** The header's value (src/http/idempotency-key.ts checked it). */
  key: string;
  /** What makes two requests the same: JSON values, hashed with object keys in sorted order. */
  request: unknown;
}

export interface ClaimOptions {
  /**
   * A claim still without an answer this long after it was made belongs to a request that died after its
   * claim committed (its node stopped): the next claim takes the key over. Unset: it waits out the 24 h.
   */
  abandonAfterMs?: number;
}

/** Which claim a later store, amend or release is about (a key taken over is another claim). */
export interface IdempotencyTicket {
  readonly scope: ProjectScope;
  readonly operation: string;
  readonly caller: string;
  readonly key: string;
  /** When this claim was made, as the database wrote it. */
  readonly claimedAt: string;
}

export type ClaimResult<Answer> =
  /** The key is this request's: do the work, then store its answer. */
  | { status: 'claimed'; ticket: IdempotencyTicket }
  /** An earlier request with this key and this request answered this: give it back, change nothing. */
  | { status: 'replay'; answer: Answer }
  /** An earlier request with this key and this request has not answered yet (see stillInProgress). */
  | { status: 'in-progress' };

export interface IdempotencyApi {
  /**
   * Claims the key inside `tx` (the caller's tenant transaction). A claim of the same key that is not yet
   * committed makes this wait for it. Throws a 409 problem when the key was used with another request.
   */
  claim<Answer extends object>(tx: Queryable, scope: ProjectScope, request: IdempotentRequest, options?: ClaimOptions): Promise<ClaimResult<Answer>>;
  /** Stores the answer of a claimed key, inside `tx`; false when the claim is no longer this ticket's. */
  store(tx: Queryable, ticket: IdempotencyTicket, answer: object): Promise<boolean>;
  /** Merges top-level fields into a stored answer, after its commit (its own transaction). */
  amend(ticket: IdempotencyTicket, fields: Record<string, unknown>): Promise<void>;
  /** Gives a claimed key back without an answer (the work failed after the claim committed), inside `tx`. */
  release(tx: Queryable, ticket: IdempotencyTicket): Promise<void>;
}

/** The 409 a route answers when it does not wait for a key's first request to finish. */
export function stillInProgress(): AppError {
  return conflict('A request with this Idempotency-Key is still in progress; retry it shortly.');
}

declare module '../contract.js' {
  interface Provisions {
    idempotency: IdempotencyApi;
  }
}
