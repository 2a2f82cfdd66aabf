/**
 * The budgets every authenticated request pays (docs/api/rate-limits.md): per player with a player token, per
 * secret key, and per client IP for credentials that fail to resolve (so guessing costs little and gains
 * nothing). Sign-in routes have their own budgets (src/modules/auth/sign-in-budgets.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LimitsConfig } from './config.js';
import type { AuthContext } from '../../http/auth-context.js';
import type { ProjectSettings, ProjectSettingsSource } from '../tenancy/api.js';
import type { Budget, RateLimiter } from './limiter.js';

const MINUTE = 60_000;

export class RequestBudgets {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly settings: ProjectSettingsSource,
    private readonly defaults: LimitsConfig,
  ) {}

  /**
   * The caller's own budget: per player or per secret key. Publishable keys and operators have none here.
   * Synchronous when the project's settings are cached and the limiter's backend is in this process: this
   * runs on every authenticated request.
   */
  admit(reply: FastifyReply, auth: AuthContext): void | Promise<void> {
    if (auth.kind !== 'player' && auth.kind !== 'secret') return;
    const settings = this.settings.current(auth);
    if (settings instanceof Promise) return settings.then((loaded) => this.limiter.consumeOne(reply, this.callerBudget(auth, loaded)));
    return this.limiter.consumeOne(reply, this.callerBudget(auth, settings));
  }

  private callerBudget(auth: AuthContext, settings: ProjectSettings): Budget {
    const overrides = settings.limits;
    const base = `{${auth.tenantId}}:${auth.projectId}`;
    return auth.kind === 'player'
      ? { name: 'player', key: `${base}:rl:player:${auth.playerId}`, limit: overrides.rate_limit_per_min ?? this.defaults.perPlayerPerMin, windowMs: MINUTE }
      : { name: 'secret-key', key: `${base}:rl:key:${auth.keyId}`, limit: overrides.secret_key_rate_limit_per_min ?? this.defaults.perSecretKeyPerMin, windowMs: MINUTE };
  }

  private badCredentialBudget(ip: string): Budget {
    // No tenant is known yet: the key is the client IP alone, in its own namespace.
    return { name: 'bad-credentials', key: `badcred:${ip}`, limit: this.defaults.badCredentialsPerIpPerMin, windowMs: MINUTE };
  }

  /** Before resolving an uncached credential: 429 when this IP has presented too many bad ones. */
  async beforeResolve(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.limiter.ensureAvailable(reply, this.badCredentialBudget(request.ip));
  }

  async credentialFailed(request: FastifyRequest): Promise<void> {
    await this.limiter.record(this.badCredentialBudget(request.ip));
  }
}
