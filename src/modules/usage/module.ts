/**
 * Usage metering (docs/api/usage.md): requests, monthly active players, realtime messages, stored bytes, peak
 * open WebSockets and game-server seconds per project and UTC hour. Counts are kept in memory on the request
 * path and flushed every USAGE_FLUSH_SECONDS and at shutdown; the operator reads them per hour, day or month.
 */
import type { AuthContext } from '../../http/auth-context.js';
import { defineModule } from '../contract.js';
import type { UsageApi } from './api.js';
import { usageSection } from './config.js';
import { ConnectionSampler } from './connection-sampler.js';
import { usageRoutes } from './routes.js';
import { UsageCounters } from './usage-counters.js';
import { UsageFlusher } from './usage-flusher.js';
import { UsageService } from './usage-service.js';
import { UsageStore } from './usage-store.js';

/** Requests a client pays for: behind a key or a player token, not refused for its rate nor failed by us. */
const isMetered = (auth: AuthContext | undefined, status: number): auth is AuthContext =>
  auth !== undefined && auth.kind !== 'operator' && status !== 429 && status < 500;

export const usageModule = defineModule({
  name: 'usage',
  config: usageSection,
  needs: ['auth', 'realtime'],
  tables: ['usage_hourly', 'usage_tenant_hourly', 'usage_mau', 'usage_flushes'],
  async build({ config, infra, needs }) {
    const store = new UsageStore(infra.db);
    const service = new UsageService(store, config.finalAfterMs);
    const counters = new UsageCounters();
    const flusher = new UsageFlusher(counters, store, infra.logger, config);
    const sampler = new ConnectionSampler(() => needs.realtime.openConnections(), counters, infra.logger, config.sampleMs);
    const provides: UsageApi = {
      requestAnswered: config.metering
        ? (auth, status) => {
            if (isMetered(auth, status)) counters.add(auth, 'requests');
          }
        : () => undefined,
    };
    if (config.metering) {
      needs.auth.onSignIn((scope, playerId) => counters.playerActive(scope, playerId));
      needs.realtime.onMessage((scope) => counters.add(scope, 'messages'));
    }
    return {
      provides,
      async routes(app, { gate }) {
        gate(app, ['operator']);
        await usageRoutes(app, service);
      },
      jobs: config.metering ? [sampler, flusher] : [],
      // After every job has stopped and the server has stopped listening: the last counts are written.
      async close() {
        if (config.metering) await flusher.flush();
      },
    };
  },
});
