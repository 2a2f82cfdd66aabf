/**
 * Player auth: signup, login, device sign-in, refresh, logout, me, password change, linking an email to a
 * device player, revoking every session. Password hashing happens outside any transaction.
 */
import type { Database, Queryable } from '../../internal/db/database.js';
import { isUniqueViolation } from '../../internal/db/errors.js';
import { conflict, forbidden, notFound, unauthorized } from '../../internal/errors/app-error.js';
import type { CredentialResolver } from './credential-resolver.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { PasswordHasher } from './password-hasher.js';
import type { AccessTokens } from './access-tokens.js';
import { refusedRefresh, type SessionStore, type TokenPair } from './sessions.js';

export interface PlayerView {
  id: string;
  email: string | null;
  username: string | null;
  created_at: string;
}

interface PlayerRow {
  id: string;
  email: string | null;
  username: string | null;
  banned_at: Date | null;
  created_at: Date;
}

export type SignedIn = TokenPair & { player: PlayerView };


export const normaliseEmail = (email: string) => email.trim().toLowerCase();

function view(row: PlayerRow): PlayerView {
  return { id: String(row.id), email: row.email, username: row.username, created_at: new Date(row.created_at).toISOString() };
}

function takenError(error: unknown): Error | undefined {
  if (isUniqueViolation(error, 'players_username_key')) return conflict('That username is taken in this game.');
  if (isUniqueViolation(error)) return conflict('That email is already registered in this game.');
  return undefined;
}

export class AuthService {
  constructor(
    private readonly db: Database,
    private readonly tokens: AccessTokens,
    private readonly sessions: SessionStore,
    private readonly hasher: PasswordHasher,
    private readonly resolver: CredentialResolver,
    /** A player signed in (signup, login, device, refresh), after the session committed: usage counts MAU. */
    private readonly signedIn: (scope: ProjectScope, playerId: string) => void = () => undefined,
  ) {}

  private async signIn(tx: Queryable, scope: ProjectScope, player: PlayerRow): Promise<SignedIn> {
    const { pair } = await this.sessions.start(tx, scope, String(player.id));
    return { player: view(player), ...pair };
  }

  async signup(scope: ProjectScope, input: { email: string; password: string; username?: string }): Promise<SignedIn> {
    const secret = await this.hasher.hash(input.password);
    await this.tokens.ready();
    try {
      const done = await this.db.withTenant(scope, async (tx) => {
        const [player] = await tx.query<PlayerRow>(
          `insert into players (tenant_id, project_id, email, username) values ($1, $2, $3, $4)
           returning id, email, username, banned_at, created_at`,
          [scope.tenantId, scope.projectId, input.email.trim(), input.username ?? null],
        );
        await tx.query(
          "insert into identities (tenant_id, project_id, player_id, provider, subject, secret_hash) values ($1, $2, $3, 'email', $4, $5)",
          [scope.tenantId, scope.projectId, player!.id, normaliseEmail(input.email), secret],
        );
        return this.signIn(tx, scope, player!);
      });
      this.signedIn(scope, done.player.id);
      return done;
    } catch (error) {
      throw takenError(error) ?? error;
    }
  }

  /** Returns undefined for a wrong email or password (the caller records the failure). */
  async login(scope: ProjectScope, input: { email: string; password: string }): Promise<SignedIn | undefined> {
    const [found] = await this.db.tenantQuery<PlayerRow & { secret_hash: string | null }>(
      scope,
      `select p.id, p.email, p.username, p.banned_at, p.created_at, i.secret_hash
         from identities i join players p on p.tenant_id = i.tenant_id and p.project_id = i.project_id and p.id = i.player_id
        where i.provider = 'email' and i.subject = $1`,
      [normaliseEmail(input.email)],
    );
    const ok = found?.secret_hash ? await this.hasher.verify(found.secret_hash, input.password) : await this.hasher.verifyDummy(input.password);
    if (!ok || !found) return undefined;
    if (found.banned_at) throw forbidden('This player is banned from this game.');
    await this.tokens.ready();
    // The session starts in one statement: its own tenant transaction, one round trip.
    const done = await this.signIn({ query: (text, params) => this.db.tenantQuery(scope, text, params) }, scope, found);
    this.signedIn(scope, done.player.id);
    return done;
  }

  async device(scope: ProjectScope, deviceId: string): Promise<{ created: boolean; signedIn: SignedIn }> {
    await this.tokens.ready();
    for (let attempt = 0; ; attempt++) {
      try {
        const done = await this.db.withTenant(scope, async (tx) => {
          const [existing] = await tx.query<PlayerRow>(
            `select p.id, p.email, p.username, p.banned_at, p.created_at
               from identities i join players p on p.tenant_id = i.tenant_id and p.project_id = i.project_id and p.id = i.player_id
              where i.provider = 'device' and i.subject = $1`,
            [deviceId],
          );
          if (existing) {
            if (existing.banned_at) throw forbidden('This player is banned from this game.');
            return { created: false, signedIn: await this.signIn(tx, scope, existing) };
          }
          const [player] = await tx.query<PlayerRow>(
            'insert into players (tenant_id, project_id) values ($1, $2) returning id, email, username, banned_at, created_at',
            [scope.tenantId, scope.projectId],
          );
          await tx.query(
            "insert into identities (tenant_id, project_id, player_id, provider, subject) values ($1, $2, $3, 'device', $4)",
            [scope.tenantId, scope.projectId, player!.id, deviceId],
          );
          return { created: true, signedIn: await this.signIn(tx, scope, player!) };
        });
        this.signedIn(scope, done.signedIn.player.id);
        return done;
      } catch (error) {
        // Two first sign-ins of one device at once: the loser retries and finds the winner's player.
        if (attempt === 0 && isUniqueViolation(error, 'identities_subject_key')) continue;
        throw error;
      }
    }
  }

  async refresh(scope: ProjectScope, refreshToken: string): Promise<TokenPair> {
    await this.tokens.ready();
    const outcome = await this.db.withTenant(scope, (tx) => this.sessions.refresh(tx, scope, refreshToken));
    if (!outcome) refusedRefresh();
    if ('revokedSession' in outcome) {
      await this.resolver.invalidate({ type: 'session', id: outcome.revokedSession });
      throw unauthorized('The refresh token was already used: the session has been ended.');
    }
    this.signedIn(scope, outcome.playerId);
    return outcome.pair;
  }

  async logout(scope: ProjectScope, sessionId: string): Promise<void> {
    await this.db.withTenant(scope, (tx) => this.sessions.revoke(tx, sessionId));
    await this.resolver.invalidate({ type: 'session', id: sessionId });
  }

  async me(scope: ProjectScope, playerId: string): Promise<PlayerView> {
    const [row] = await this.db.tenantQuery<PlayerRow>(scope, 'select id, email, username, banned_at, created_at from players where id = $1', [playerId]);
    if (!row) throw notFound('The player no longer exists.');
    return view(row);
  }

  async changePassword(scope: ProjectScope, playerId: string, sessionId: string, current: string, next: string): Promise<void> {
    const [identity] = await this.db.tenantQuery<{ secret_hash: string | null }>(
      scope,
      "select secret_hash from identities where player_id = $1 and provider = 'email'",
      [playerId],
    );
    if (!identity?.secret_hash) throw conflict('This player has no password; link an email first.');
    if (!(await this.hasher.verify(identity.secret_hash, current))) throw forbidden('The current password is wrong.');
    const secret = await this.hasher.hash(next);
    await this.db.withTenant(scope, async (tx) => {
      await tx.query("update identities set secret_hash = $2 where player_id = $1 and provider = 'email'", [playerId, secret]);
      await this.sessions.revokeAll(tx, playerId, sessionId);
    });
    await this.resolver.invalidate({ type: 'player', id: playerId, projectId: scope.projectId });
  }

  async linkEmail(scope: ProjectScope, playerId: string, input: { email: string; password: string }): Promise<PlayerView> {
    const secret = await this.hasher.hash(input.password);
    try {
      return await this.db.withTenant(scope, async (tx) => {
        const [has] = await tx.query("select 1 from identities where player_id = $1 and provider = 'email'", [playerId]);
        if (has) throw conflict('This player already has an email.');
        await tx.query(
          "insert into identities (tenant_id, project_id, player_id, provider, subject, secret_hash) values ($1, $2, $3, 'email', $4, $5)",
          [scope.tenantId, scope.projectId, playerId, normaliseEmail(input.email), secret],
        );
        const [row] = await tx.query<PlayerRow>(
          'update players set email = $2 where id = $1 returning id, email, username, banned_at, created_at',
          [playerId, input.email.trim()],
        );
        if (!row) throw notFound('The player no longer exists.');
        return view(row);
      });
    } catch (error) {
      throw takenError(error) ?? error;
    }
  }

  async revokeAll(scope: ProjectScope, playerId: string): Promise<void> {
    await this.db.withTenant(scope, (tx) => this.sessions.revokeAll(tx, playerId));
    await this.resolver.invalidate({ type: 'player', id: playerId, projectId: scope.projectId });
  }
}
