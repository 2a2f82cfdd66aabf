/**
 * Idempotency-Key on score submits (docs/api/conventions.md): a retry with the same key within 24 h returns
 * the first answer and changes nothing. The key is claimed by inserting its row in the same transaction as
 * the submit, so a concurrent retry waits on that row and then reads the answer; a failed submit rolls its
 * claim back (and the retry runs for real). Rows are per (tenant, project, caller, key) under RLS.
 */
import { createHash } from 'node:crypto';
import { scopeParams, type Database, type Queryable } from '../../internal/db/database.js';
import { conflict } from '../../internal/errors/app-error.js';
import type { ProjectScope } from '../auth/context.js';

export interface StoredAnswer {
  player_id: string;
  score: string;
  subscore: string;
  seq: string;
  updated_at: string;
  /** Filled in once the rank index has taken the write (after the commit). */
  rank?: number;
}

export interface IdempotencyClaim {
  caller: string;
  key: string;
  requestHash: Buffer;
}

export function requestHash(parts: unknown): Buffer {
  return createHash('sha256').update(JSON.stringify(parts)).digest();
}

export class IdempotencyStore {
  constructor(private readonly db: Database) {}

  /**
   * Claims the key inside `tx`. Null when this call owns it (go on and submit), or the stored answer of an
   * earlier submit. A reused key with another request is a 409.
   */
  async claim(tx: Queryable, scope: ProjectScope, claim: IdempotencyClaim): Promise<StoredAnswer | null> {
    const claimed = await tx.query(
      `insert into leaderboard_idempotency as i (tenant_id, project_id, caller, key, request_hash)
       values ($1, $2, $3, $4, $5)
       on conflict (tenant_id, project_id, caller, key) do update
         set request_hash = excluded.request_hash, response = null, created_at = now()
         where i.created_at < now() - interval '24 hours'
       returning 1 as claimed`,
      [...scopeParams(scope), claim.caller, claim.key, claim.requestHash],
    );
    if (claimed.length > 0) return null;
    const [stored] = await tx.query<{ request_hash: Uint8Array; response: StoredAnswer | null }>(
      `select request_hash, response from leaderboard_idempotency
        where tenant_id = $1 and project_id = $2 and caller = $3 and key = $4`,
      [...scopeParams(scope), claim.caller, claim.key],
    );
    if (!stored?.response || !Buffer.from(stored.request_hash).equals(claim.requestHash)) {
      throw conflict('This Idempotency-Key was already used for another request.');
    }
    return stored.response;
  }

  async store(tx: Queryable, scope: ProjectScope, claim: IdempotencyClaim, answer: StoredAnswer): Promise<void> {
    await tx.query(
      `update leaderboard_idempotency set response = $5::text::jsonb
        where tenant_id = $1 and project_id = $2 and caller = $3 and key = $4`,
      [...scopeParams(scope), claim.caller, claim.key, JSON.stringify(answer)],
    );
  }

  /** Adds the rank to a stored answer (after the commit, once the index has it). */
  async storeRank(scope: ProjectScope, claim: IdempotencyClaim, rank: number): Promise<void> {
    await this.db.tenantQuery(
      scope,
      `update leaderboard_idempotency set response = jsonb_set(response, '{rank}', to_jsonb($5::int))
        where tenant_id = $1 and project_id = $2 and caller = $3 and key = $4 and response is not null`,
      [...scopeParams(scope), claim.caller, claim.key, rank],
    );
  }
}
