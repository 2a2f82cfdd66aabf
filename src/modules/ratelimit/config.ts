/** Default request budgets and connection caps; a project may override each (docs/api/rate-limits.md). */
import type { Env } from '../../internal/config/parse.js';
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface LimitsConfig {
  perPlayerPerMin: number;
  perSecretKeyPerMin: number;
  authPerIpPerMin: number;
  authPerProjectPerMin: number;
  authFailuresPerEmailIp: number;
  authFailuresPerEmail: number;
  authFailureWindowMs: number;
  badCredentialsPerIpPerMin: number;
  wsPerTenant: number;
  wsPerPlayer: number;
}

/** A budget or cap: 0 and up, no practical ceiling. */
const budget = (name: string, fallback: number, doc: string) => integer(name, { default: fallback, min: 0, max: 100_000_000, doc });

export const limitsSection: ConfigSection<'limits', LimitsConfig> = defineSection(
  'limits',
  'Rate limits',
  {
    perPlayerPerMin: budget('RATE_LIMIT_PER_MIN', 600, 'requests per player per minute, on player-token routes'),
    perSecretKeyPerMin: budget('SECRET_KEY_RATE_LIMIT_PER_MIN', 6_000, 'requests per secret key per minute'),
    authPerIpPerMin: budget('AUTH_RATE_LIMIT_PER_MIN', 60, 'sign-ins per client IP per minute'),
    authPerProjectPerMin: budget('PROJECT_AUTH_RATE_LIMIT_PER_MIN', 6_000, 'sign-ins per project per minute (the ceiling over every IP)'),
    authFailuresPerEmailIp: budget(
      'AUTH_FAILURES_PER_EMAIL_IP',
      5,
      'failed logins per email and client IP within the window before that caller is slowed (`429`; the account is never locked)',
    ),
    authFailuresPerEmail: budget(
      'AUTH_FAILURES_PER_EMAIL',
      50,
      'failed logins per email within the window, from any IP, before the callers that failed too are slowed',
    ),
    authFailureWindowSeconds: integer('AUTH_FAILURE_WINDOW_SECONDS', {
      default: 600,
      min: 1,
      max: 86_400,
      doc: 'the window failed logins are counted in',
    }),
    badCredentialsPerIpPerMin: budget('BAD_CREDENTIALS_PER_IP_PER_MIN', 120, 'credentials that fail to resolve, per client IP per minute'),
    wsPerTenant: budget('WS_MAX_CONNECTIONS_PER_TENANT', 1_000, 'WebSocket connections per tenant, counted across nodes (0: no cap)'),
    wsPerPlayer: budget('WS_MAX_CONNECTIONS_PER_PLAYER', 5, 'WebSocket connections per player, counted across nodes (0: no cap)'),
  },
  ({ authFailureWindowSeconds, ...limits }) => ({ ...limits, authFailureWindowMs: authFailureWindowSeconds * 1000 }),
);

export const loadLimitsConfig = (env: Env): LimitsConfig => limitsSection.parse(env);
