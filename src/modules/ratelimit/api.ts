/** What the rate-limit module offers the others (the only file of this folder another module may import). */
import type { RequestAdmission } from '../../http/credential-gate.js';
import type { LimitsConfig } from './config.js';
import type { RateLimiter } from './limiter.js';

export type { LimitsConfig } from './config.js';
export type { Budget, RateLimiter } from './limiter.js';

export interface RateLimitApi {
  /** Budgets on the shared cache backend, with the per-node fallback. */
  limiter: RateLimiter;
  /** The budget every authenticated request pays (used by the credential gate). */
  requestBudgets: RequestAdmission;
  /** The deployment's default limits (a project's settings may override them). */
  limits: LimitsConfig;
}

declare module '../contract.js' {
  interface Provisions {
    ratelimit: RateLimitApi;
  }
}
