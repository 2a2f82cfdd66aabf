/**
 * Notifications (docs/api/notifications.md): what the studio's servers and ggscale itself tell a player,
 * stored per player (retention, a per-player cap), listed and deleted over REST, and delivered on the
 * realtime socket as they are sent and when a session starts. Other modules send through api.ts.
 */
import { defineModule } from '../contract.js';
import { notificationsSection } from './config.js';
import { LiveNotifications } from './live-notifications.js';
import { NotificationService } from './notification-service.js';
import { NotificationStore } from './notification-store.js';
import { NotificationRetentionPurge } from './retention-purge.js';
import { playerRoutes, sendRoutes } from './routes.js';

export const notificationsModule = defineModule({
  name: 'notifications',
  config: notificationsSection,
  needs: ['auth', 'tenancy', 'realtime', 'idempotency'],
  tables: ['notifications'],
  async build({ config, infra, needs }) {
    const store = new NotificationStore(infra.db);
    const live = new LiveNotifications(store, config.onConnect, infra.logger);
    live.attach(needs.realtime);
    const service = new NotificationService({
      db: infra.db,
      store,
      players: needs.auth.players,
      settings: needs.tenancy.settings,
      idempotency: needs.idempotency,
      config,
      deliver: (scope, sent) => live.deliver(scope, sent),
    });
    return {
      provides: service,
      async routes(app, { gate }) {
        await app.register(async (servers) => {
          gate(servers, ['secret']);
          await sendRoutes(servers, service);
        });
        await app.register(async (players) => {
          gate(players, ['player', 'secret']);
          await playerRoutes(players, service);
        });
      },
      jobs: [new NotificationRetentionPurge(infra.db, infra.logger, { intervalMs: config.purgeIntervalMs, retentionDays: config.retentionDays })],
    };
  },
});
