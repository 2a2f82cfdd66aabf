/**
 * Idempotency-Key for every route that honours it (score submits, allocations, and the domains after them):
 * one table of claimed keys and their first answers, the claims made in each route's own transaction, and
 * the background purge of keys past their 24 h.
 */
import { defineModule } from '../contract.js';
import { idempotencySection } from './config.js';
import { IdempotencyKeyStore } from './key-store.js';
import { IdempotencyPurge } from './purge.js';

export const idempotencyModule = defineModule({
  name: 'idempotency',
  config: idempotencySection,
  needs: [],
  tables: ['idempotency_keys'],
  async build({ config, infra }) {
    return {
      provides: new IdempotencyKeyStore(infra.db),
      jobs: [new IdempotencyPurge(infra.db, infra.logger, { intervalMs: config.purgeIntervalMs })],
    };
  },
});
