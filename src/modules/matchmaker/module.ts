/**
 * The matchmaker (docs/api/matchmaker.md): pools of searching tickets, the matcher that forms matches from
 * them, the game servers it allocates through the fleet module, and the match tokens players show them.
 */
import { defineModule } from '../contract.js';
import { matchmakerSection } from './config.js';
import { MatchService } from './match-service.js';
import { MatchStore } from './match-store.js';
import { Matcher } from './matcher.js';
import { MatchmakerMetrics } from './metrics.js';
import { poolRoutes } from './pool-routes.js';
import { PoolService } from './pool-service.js';
import { PoolStore } from './pool-store.js';
import { TicketExpiry, TicketRetentionPurge } from './ticket-expiry.js';
import { ticketOps } from './ticket-ops.js';
import { ticketRoutes } from './ticket-routes.js';
import { TicketService } from './ticket-service.js';
import { TicketStore } from './ticket-store.js';

export const matchmakerModule = defineModule({
  name: 'matchmaker',
  config: matchmakerSection,
  needs: ['auth', 'tenancy', 'realtime', 'notifications', 'parties', 'fleet', 'leaderboards'],
  tables: ['matchmaker_pools', 'matchmaker_matches', 'matchmaker_tickets', 'matchmaker_ticket_players'],
  async build({ config, infra, needs }) {
    const { db, logger } = infra;
    const pools = new PoolService({ store: new PoolStore(db), fleet: needs.fleet, leaderboards: needs.leaderboards, settings: needs.tenancy.settings, config });
    const store = new TicketStore(db);
    const tickets = new TicketService({
      store,
      pools,
      players: needs.auth.players,
      parties: needs.parties,
      leaderboards: needs.leaderboards,
      realtime: needs.realtime,
      logger,
    });
    const matchStore = new MatchStore(db);
    const metrics = new MatchmakerMetrics(infra.metrics.registry);
    const matches = new MatchService({
      store: matchStore,
      fleet: needs.fleet,
      auth: needs.auth,
      notifications: needs.notifications,
      realtime: needs.realtime,
      config,
      logger,
      metrics,
      announce: (scope, ticket) => tickets.announce(scope, ticket),
    });
    const matcher = new Matcher({ store: matchStore, pools, matches, metrics, allocationTimeoutSeconds: config.allocationTimeoutSeconds }, logger, config.intervalMs);
    needs.realtime.registerOps(ticketOps(tickets));
    needs.parties.onPartyChanged((scope, change) => tickets.partyChanged(scope, change));
    return {
      provides: undefined,
      async routes(app, { gate }) {
        await app.register(async (secret) => {
          gate(secret, ['secret']);
          await poolRoutes(secret, { pools, onTicketsEnded: (scope, ended) => ended.forEach((ticket) => tickets.announce(scope, ticket)) });
        });
        await app.register(async (callers) => {
          gate(callers, ['player', 'secret']);
          await ticketRoutes(callers, tickets, matches);
        });
      },
      jobs: [matcher, new TicketExpiry(store, tickets, logger, config.intervalMs), new TicketRetentionPurge(db, logger, config.ticketRetentionDays)],
    };
  },
});
