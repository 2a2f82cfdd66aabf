/**
 * `Authorization: Bearer <credential>` → AuthContext. API keys are hashed (SHA-256) and resolved through
 * the one SECURITY DEFINER function; access tokens are verified (signature, claims) and their session and
 * player checked. Both outcomes are cached so the hot path pays neither a round trip nor a signature check;
 * revocations reach every node through pub/sub, with a short expiry and a flush on reconnect as backstops.
 */
import { hash } from 'node:crypto';
import type { Database } from '../../internal/db/database.js';
import { withoutDeadline } from '../../internal/deadline.js';
import type { CacheBackend } from '../../internal/cache/cache.js';
import { AppError, unauthorized } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import { hashApiKey, looksLikeApiKey } from '../tenancy/api.js';
import type { AccessTokens } from './access-tokens.js';
import { CredentialCache } from './credential-cache.js';
import type { AuthContext } from '../../http/auth-context.js';

export const INVALIDATION_CHANNEL = 'auth-invalidate';

const OPERATOR: AuthContext = Object.freeze({ kind: 'operator', tenantId: '', projectId: '' });

export type Invalidation =
  | { type: 'key'; id: string }
  | { type: 'session'; id: string }
  | { type: 'player'; id: string; projectId: string }
  | { type: 'all' };

/** expiresAt: a token is never trusted past its own expiry, whatever the cache period. */
type Decision = { ok: true; auth: AuthContext; expiresAt?: number } | { ok: false; detail: string };

export interface ResolverOptions {
  adminToken: string | undefined;
  /** How long a decision is trusted without asking again (the backstop for a missed invalidation). */
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries?: number;
  now?: () => number;
}

export class CredentialResolver {
  private readonly decisions: CredentialCache<Decision>;
  private readonly adminDigest: string | undefined;
  private readonly invalidationListeners: ((event: Invalidation) => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly cache: CacheBackend,
    private readonly tokens: AccessTokens,
    private readonly logger: Logger,
    private readonly options: ResolverOptions,
  ) {
    this.decisions = new CredentialCache<Decision>(options.maxEntries ?? 100_000, options.now);
    this.adminDigest = options.adminToken ? sha256(options.adminToken) : undefined;
  }

  /** Subscribes to invalidations; call once at start. */
  async start(): Promise<void> {
    this.cache.onResubscribe(() => {
      this.logger.warn('auth invalidation channel reconnected: flushing cached credentials');
      this.decisions.clear();
    });
    await this.cache.subscribe(INVALIDATION_CHANNEL, (message) => this.apply(message));
  }

  private apply(message: string): void {
    let event: Invalidation;
    try {
      event = JSON.parse(message) as Invalidation;
    } catch {
      return;
    }
    this.applyLocally(event);
  }

  private applyLocally(event: Invalidation): void {
    switch (event.type) {
      case 'key':
        this.decisions.deleteWhere((d) => d.ok && d.auth.keyId === event.id);
        break;
      case 'session':
        this.decisions.deleteWhere((d) => d.ok && d.auth.sessionId === event.id);
        break;
      case 'player':
        this.decisions.deleteWhere((d) => d.ok && d.auth.playerId === event.id && d.auth.projectId === event.projectId);
        break;
      case 'all':
        this.decisions.clear();
        break;
    }
    // Listeners act for the whole node (realtime closes sockets), not for the request that revoked something:
    // its deadline must not cut their work short.
    for (const listener of this.invalidationListeners) withoutDeadline(() => listener(event));
  }

  /** Hears every invalidation applied here, local or from another node (realtime closes sockets with it). */
  onInvalidate(listener: (event: Invalidation) => void): void {
    this.invalidationListeners.push(listener);
  }

  /** Drops the decision here at once and tells every other node. */
  async invalidate(event: Invalidation): Promise<void> {
    this.applyLocally(event);
    try {
      await this.cache.publish(INVALIDATION_CHANNEL, JSON.stringify(event));
    } catch (error) {
      // Other nodes still drop it when their entry expires (ttlMs).
      this.logger.warn({ err: error, event: event.type }, 'could not publish an auth invalidation');
    }
  }

  /** One digest per request serves both the constant-time operator check and the cache key. */
  private isOperatorDigest(digest: string): boolean {
    return this.adminDigest !== undefined && constantTimeEqual(digest, this.adminDigest);
  }

  /** A positive decision already cached here (the hot path: no round trip, no signature check). */
  cached(credential: string): AuthContext | undefined {
    const digest = sha256(credential);
    if (this.isOperatorDigest(digest)) return OPERATOR;
    const decision = this.decisions.get(digest);
    return decision?.ok ? decision.auth : undefined;
  }

  /** Resolves a bearer credential; throws 401 for unknown, revoked, expired or malformed ones. */
  async resolve(credential: string): Promise<AuthContext> {
    const digest = sha256(credential);
    if (this.isOperatorDigest(digest)) return OPERATOR;
    let decision = this.decisions.get(digest);
    if (!decision) {
      decision = await this.decide(credential);
      let ttl = decision.ok ? this.options.ttlMs : this.options.negativeTtlMs;
      if (decision.ok && decision.expiresAt !== undefined) {
        ttl = Math.max(0, Math.min(ttl, decision.expiresAt - (this.options.now ?? Date.now)()));
      }
      this.decisions.set(digest, decision, ttl);
    }
    if (!decision.ok) throw unauthorized(decision.detail);
    return decision.auth;
  }

  private async decide(credential: string): Promise<Decision> {
    if (looksLikeApiKey(credential)) return this.decideKey(credential);
    if (credential.startsWith('eyJ')) return this.decideToken(credential);
    return { ok: false, detail: 'The credential is not recognised.' };
  }

  private async decideKey(key: string): Promise<Decision> {
    // resolve_api_key is the request path's only cross-tenant read: it runs as the owner (SECURITY DEFINER)
    // and answers for this one hash. Calling it needs a tenant transaction, so it runs in an empty scope.
    const rows = await this.db.withTenant({ tenantId: '0' }, (tx) =>
      tx.query<{ key_id: string; tenant_id: string; project_id: string; kind: 'secret' | 'publishable'; revoked: boolean }>(
        'select key_id, tenant_id, project_id, kind, revoked from resolve_api_key($1)',
        [hashApiKey(key)],
      ),
    );
    const row = rows[0];
    if (!row) return { ok: false, detail: 'The API key is unknown.' };
    if (row.revoked) return { ok: false, detail: 'The API key has been revoked.' };
    const scope = { tenantId: String(row.tenant_id), projectId: String(row.project_id) };
    // last_used_at is refreshed at most once per cache period per node: no write per request.
    withoutDeadline(() => this.db.tenantQuery(scope, 'update api_keys set last_used_at = now() where id = $1', [row.key_id])).catch((error: unknown) => this.logger.debug({ err: error }, 'last_used_at not updated'));
    return { ok: true, auth: { kind: row.kind, ...scope, keyId: String(row.key_id) } };
  }

  private async decideToken(token: string): Promise<Decision> {
    let verified;
    try {
      verified = await this.tokens.verify(token);
    } catch (error) {
      // Only a verdict on the token itself is a (cacheable) refusal; a database that could not be asked to
      // verify it (signing keys, issuer) is a 503, remembered nowhere.
      if (error instanceof AppError && error.slug === 'unauthorized') return { ok: false, detail: error.message };
      throw error;
    }
    const scope = { tenantId: verified.tenantId, projectId: verified.projectId };
    const rows = await this.db.tenantQuery<{ revoked: boolean; banned: boolean }>(
      scope,
      `select s.revoked_at is not null as revoked, p.banned_at is not null as banned
         from sessions s join players p on p.tenant_id = s.tenant_id and p.project_id = s.project_id and p.id = s.player_id
        where s.id = $1 and s.player_id = $2`,
      [verified.sessionId, verified.playerId],
    );
    const state = rows[0];
    if (!state || state.revoked) return { ok: false, detail: 'The session has ended.' };
    if (state.banned) return { ok: false, detail: 'The player is banned.' };
    return {
      ok: true,
      auth: { kind: 'player', ...scope, playerId: verified.playerId, sessionId: verified.sessionId },
      expiresAt: verified.expiresAt,
    };
  }
}

/**
 * The digest as a base64 string: the one-shot hash straight to a string is about 4× cheaper than a Hash
 * object and a Buffer, and this runs on every authenticated request.
 */
function sha256(text: string): string {
  return hash('sha256', text, 'base64');
}

/** Equal-length digests compared without an early exit (no timing hint of how much of the digest matched). */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
