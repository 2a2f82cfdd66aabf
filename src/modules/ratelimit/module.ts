/**
 * Rate limits: the budget limiter on the cache backend and the per-request budgets the credential gate
 * charges. Sign-in and realtime budgets belong to their modules and use the limiter from here.
 */
import { defineModule } from '../contract.js';
import { limitsSection } from './config.js';
import { RateLimiter } from './limiter.js';
import { RequestBudgets } from './request-budgets.js';

export const ratelimitModule = defineModule({
  name: 'ratelimit',
  config: limitsSection,
  needs: ['tenancy'],
  tables: [],
  async build({ config, infra, needs }) {
    const limiter = new RateLimiter(infra.cache, infra.localCache, infra.metrics, infra.logger);
    return { provides: { limiter, requestBudgets: new RequestBudgets(limiter, needs.tenancy.settings, config), limits: config } };
  },
});
