/**
 * Sessions are refresh-token families. Each refresh token is good once; a retry with the just-used token
 * within the grace window answers the same successor pair (a lost response is not an attack); a reuse
 * after that revokes the whole family (RFC 9700 §4.14). Runs inside the caller's tenant transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../internal/db/database.js';
import { unauthorized } from '../../internal/errors/app-error.js';
import type { AccessTokens } from './access-tokens.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { hashRefreshToken, newRefreshToken, openSuccessor, sealSuccessor } from './refresh-seal.js';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface SessionOptions {
  refreshTtlSeconds: number;
  reuseGraceSeconds: number;
}

interface RefreshRow {
  id: string;
  session_id: string;
  player_id: string;
  used_at: Date | null;
  expires_at: Date;
  successor_sealed: string | null;
  session_revoked: boolean;
  banned: boolean;
  now: Date;
}

/** The refresh token presented ($1: its SHA-256), locked, with its session's and player's state. */
export const REFRESH_LOOKUP_SQL = `select rt.id, rt.session_id, s.player_id, rt.used_at, rt.expires_at, rt.successor_sealed,
              s.revoked_at is not null as session_revoked, p.banned_at is not null as banned, now() as now
         from refresh_tokens rt
         join sessions s on s.tenant_id = rt.tenant_id and s.project_id = rt.project_id and s.id = rt.session_id
         join players p on p.tenant_id = s.tenant_id and p.project_id = s.project_id and p.id = s.player_id
        where rt.token_hash = $1
        for update of rt`;

export type RefreshOutcome = { pair: TokenPair; playerId: string } | { revokedSession: string } | undefined;

export class SessionStore {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly options: SessionOptions,
  ) {}

  /**
   * A new session and its first refresh token in ONE statement, so it is atomic on its own: a login runs
   * it as its own tenant transaction (one round trip) rather than opening one around two inserts.
   */
  async start(tx: Queryable, scope: ProjectScope, playerId: string): Promise<{ pair: TokenPair; sessionId: string }> {
    const sessionId = randomUUID();
    const refresh = newRefreshToken();
    const issuedAt = new Date();
    const access = await this.tokens.sign({ ...scope, playerId, sessionId }, issuedAt);
    await tx.query(
      `with session as (
         insert into sessions (tenant_id, project_id, id, player_id) values ($1, $2, $3, $4) returning tenant_id, project_id, id
       )
       insert into refresh_tokens (tenant_id, project_id, session_id, token_hash, parent_id, access_issued_at, access_expires_at, access_kid, expires_at)
       select tenant_id, project_id, id, $5, null, $6, $7, $8, now() + make_interval(secs => $9) from session`,
      [scope.tenantId, scope.projectId, sessionId, playerId, hashRefreshToken(refresh), issuedAt, access.expiresAt, access.kid, this.options.refreshTtlSeconds],
    );
    return { pair: this.pair(access.token, refresh), sessionId };
  }

  /** Stores `refresh` (hashed) with a freshly signed access token. */
  private async issue(tx: Queryable, scope: ProjectScope, playerId: string, sessionId: string, refresh: string, parentId: string | null): Promise<TokenPair> {
    const issuedAt = new Date();
    const access = await this.tokens.sign({ ...scope, playerId, sessionId }, issuedAt);
    await tx.query(
      `insert into refresh_tokens (tenant_id, project_id, session_id, token_hash, parent_id, access_issued_at, access_expires_at, access_kid, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))`,
      [scope.tenantId, scope.projectId, sessionId, hashRefreshToken(refresh), parentId, issuedAt, access.expiresAt, access.kid, this.options.refreshTtlSeconds],
    );
    return this.pair(access.token, refresh);
  }

  private pair(accessToken: string, refreshToken: string): TokenPair {
    return { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer', expires_in: this.tokens.ttlSeconds };
  }

  /** Exchanges a refresh token. undefined: unknown, expired, or the session/player is no longer valid. */
  async refresh(tx: Queryable, scope: ProjectScope, refresh: string): Promise<RefreshOutcome> {
    const [row] = await tx.query<RefreshRow>(REFRESH_LOOKUP_SQL, [hashRefreshToken(refresh)]);
    if (!row || row.session_revoked || row.banned || row.expires_at <= row.now) return undefined;
    const playerId = String(row.player_id);

    if (row.used_at === null) {
      const successor = newRefreshToken();
      await tx.query('update refresh_tokens set used_at = now(), successor_sealed = $2 where id = $1', [row.id, sealSuccessor(refresh, successor)]);
      return { pair: await this.issue(tx, scope, playerId, row.session_id, successor, String(row.id)), playerId };
    }

    const sinceUse = row.now.getTime() - row.used_at.getTime();
    if (sinceUse <= this.options.reuseGraceSeconds * 1000 && row.successor_sealed) {
      const successor = openSuccessor(refresh, row.successor_sealed);
      const [next] = await tx.query<{ access_issued_at: Date; access_kid: string }>(
        'select access_issued_at, access_kid from refresh_tokens where parent_id = $1',
        [row.id],
      );
      if (successor && next) {
        const access = await this.tokens.sign({ ...scope, playerId, sessionId: row.session_id }, next.access_issued_at, next.access_kid);
        return { pair: this.pair(access.token, successor), playerId };
      }
    }
    // Reuse after the grace window: somebody holds a copy. End the whole family.
    await tx.query('update sessions set revoked_at = coalesce(revoked_at, now()) where id = $1', [row.session_id]);
    return { revokedSession: row.session_id };
  }

  async revoke(tx: Queryable, sessionId: string): Promise<void> {
    await tx.query('update sessions set revoked_at = coalesce(revoked_at, now()) where id = $1', [sessionId]);
  }

  /** Revokes the player's sessions, except `keep` (the caller's own, on a password change). */
  async revokeAll(tx: Queryable, playerId: string, keep?: string): Promise<void> {
    await tx.query(
      'update sessions set revoked_at = now() where player_id = $1 and revoked_at is null and ($2::uuid is null or id <> $2::uuid)',
      [playerId, keep ?? null],
    );
  }
}

export function refusedRefresh(): never {
  throw unauthorized('The refresh token is unknown, expired or already used.');
}
