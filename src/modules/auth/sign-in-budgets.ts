/**
 * Brute-force protection of sign-ins (docs/api/rate-limits.md). Publishable keys are public, so budgets are
 * per client IP under a per-project ceiling, never per key. Failed logins are counted per (email, IP) and
 * per email whether or not the email exists; they slow the caller, and never lock the account: an IP that
 * has not failed for this email still gets through when the per-email budget is spent elsewhere.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Budget, LimitsConfig, RateLimiter } from '../ratelimit/api.js';
import type { ProjectSettingsSource } from '../tenancy/api.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { normaliseEmail } from './auth-service.js';

const MINUTE = 60_000;

// Emails never reach the cache backend in clear.
const emailTag = (email: string) => createHash('sha256').update(normaliseEmail(email)).digest('base64url').slice(0, 22);

export class SignInBudgets {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly settings: ProjectSettingsSource,
    private readonly defaults: LimitsConfig,
  ) {}

  private async limits(scope: ProjectScope) {
    const overrides = (await this.settings.get(scope)).limits;
    return {
      perIp: overrides.auth_rate_limit_per_min ?? this.defaults.authPerIpPerMin,
      perProject: overrides.project_auth_rate_limit_per_min ?? this.defaults.authPerProjectPerMin,
      perEmailIp: overrides.auth_failures_per_email_ip ?? this.defaults.authFailuresPerEmailIp,
      perEmail: overrides.auth_failures_per_email ?? this.defaults.authFailuresPerEmail,
    };
  }

  /** Every sign-in request: per client IP, then the project's ceiling. */
  async admit(reply: FastifyReply, scope: ProjectScope, ip: string): Promise<void> {
    const limits = await this.limits(scope);
    const base = `{${scope.tenantId}}:${scope.projectId}`;
    await this.limiter.consume(reply, [
      { name: 'signin-ip', key: `${base}:signin-ip:${ip}`, limit: limits.perIp, windowMs: MINUTE, failClosed: true },
      { name: 'signin-project', key: `${base}:signin-project`, limit: limits.perProject, windowMs: MINUTE, failClosed: true },
    ]);
  }

  private async failureBudgets(scope: ProjectScope, email: string, ip: string): Promise<{ emailIp: Budget; email: Budget }> {
    const limits = await this.limits(scope);
    const base = `{${scope.tenantId}}:${scope.projectId}:login-fail:${emailTag(email)}`;
    const windowMs = this.defaults.authFailureWindowMs;
    return {
      emailIp: { name: 'login-failures-email-ip', key: `${base}:${ip}`, limit: limits.perEmailIp, windowMs, failClosed: true },
      email: { name: 'login-failures-email', key: base, limit: limits.perEmail, windowMs, failClosed: true },
    };
  }

  /** Before checking a password: 429 when this caller has failed too often for this email. */
  async beforeLogin(reply: FastifyReply, scope: ProjectScope, email: string, ip: string): Promise<void> {
    const budgets = await this.failureBudgets(scope, email, ip);
    await this.limiter.ensureAvailable(reply, budgets.emailIp);
    if (!(await this.limiter.isUntouched(budgets.emailIp))) await this.limiter.ensureAvailable(reply, budgets.email);
  }

  async loginFailed(scope: ProjectScope, email: string, ip: string): Promise<void> {
    const budgets = await this.failureBudgets(scope, email, ip);
    await Promise.all([this.limiter.record(budgets.emailIp), this.limiter.record(budgets.email)]);
  }
}
