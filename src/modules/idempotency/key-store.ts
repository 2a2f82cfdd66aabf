/**
 * The idempotency_keys table on the request path, through RLS. A key is claimed by upserting its row in the
 * caller's transaction: a concurrent claim of the same key waits on that row and then reads what the first
 * one committed, and a rolled-back claim leaves nothing. A row older than 24 h (or, when the route says so,
 * a claim abandoned without an answer) is taken over in place, so an expired key never blocks its reuse
 * even before the purge removes it.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { scopeParams, type Database, type Queryable } from '../../internal/db/database.js';
import { conflict } from '../../internal/errors/app-error.js';
import { stillInProgress, type ClaimOptions, type ClaimResult, type IdempotencyApi, type IdempotencyTicket, type IdempotentRequest } from './api.js';
import { requestHash } from './request-hash.js';

/** How long a key answers with its first answer. */
export const KEY_LIFETIME_HOURS = 24;

const OPERATION = /^[a-z][a-z0-9_.-]{0,63}$/;

const WHERE_TICKET = 'tenant_id = $1 and project_id = $2 and operation = $3 and caller = $4 and key = $5';

const ticketParams = (ticket: IdempotencyTicket) => [...scopeParams(ticket.scope), ticket.operation, ticket.caller, ticket.key] as const;

export class IdempotencyKeyStore implements IdempotencyApi {
  constructor(private readonly db: Database) {}

  async claim<Answer extends object>(tx: Queryable, scope: ProjectScope, request: IdempotentRequest, options: ClaimOptions = {}): Promise<ClaimResult<Answer>> {
    if (!OPERATION.test(request.operation)) throw new Error(`idempotency: "${request.operation}" is not an operation name`);
    const hash = requestHash(request.request);
    const key = [...scopeParams(scope), request.operation, request.caller, request.key] as const;
    const abandonAfterSeconds = options.abandonAfterMs === undefined ? null : options.abandonAfterMs / 1000;
    const [claimed] = await tx.query<{ claimed_at: string }>(
      `insert into idempotency_keys as k (tenant_id, project_id, operation, caller, key, request_hash)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (tenant_id, project_id, operation, caller, key) do update
         set request_hash = excluded.request_hash, answer = null, created_at = now()
         where k.created_at <= now() - make_interval(hours => ${KEY_LIFETIME_HOURS})
            or (k.answer is null and k.created_at <= now() - make_interval(secs => $7::float8))
       returning created_at::text as claimed_at`,
      [...key, hash, abandonAfterSeconds],
    );
    if (claimed) {
      return { status: 'claimed', ticket: { scope, operation: request.operation, caller: request.caller, key: request.key, claimedAt: claimed.claimed_at } };
    }
    const [stored] = await tx.query<{ request_hash: Uint8Array; answer: Answer | null }>(
      `select request_hash, answer from idempotency_keys where ${WHERE_TICKET}`,
      key,
    );
    // No row: the purge took it between the two statements (it had just expired); a retry claims it afresh.
    if (!stored) throw stillInProgress();
    if (!Buffer.from(stored.request_hash).equals(hash)) throw conflict('This Idempotency-Key was already used for another request.');
    return stored.answer === null ? { status: 'in-progress' } : { status: 'replay', answer: stored.answer };
  }

  async store(tx: Queryable, ticket: IdempotencyTicket, answer: object): Promise<boolean> {
    const rows = await tx.query(
      `update idempotency_keys set answer = $7::text::jsonb
        where ${WHERE_TICKET} and created_at = $6::timestamptz and answer is null
       returning 1 as stored`,
      [...ticketParams(ticket), ticket.claimedAt, JSON.stringify(answer)],
    );
    return rows.length > 0;
  }

  async amend(ticket: IdempotencyTicket, fields: Record<string, unknown>): Promise<void> {
    await this.db.tenantQuery(
      ticket.scope,
      `update idempotency_keys set answer = answer || $7::text::jsonb
        where ${WHERE_TICKET} and created_at = $6::timestamptz and answer is not null`,
      [...ticketParams(ticket), ticket.claimedAt, JSON.stringify(fields)],
    );
  }

  async release(tx: Queryable, ticket: IdempotencyTicket): Promise<void> {
    await tx.query(`delete from idempotency_keys where ${WHERE_TICKET} and created_at = $6::timestamptz and answer is null`, [
      ...ticketParams(ticket),
      ticket.claimedAt,
    ]);
  }
}
