/**
 * The social graph (docs/api/social.md): friend requests, friendships and blocks between the players of a
 * project, over REST for a player (or a secret key acting for one), with ggscale's notifications and
 * `friend` events on the realtime socket. Parties, presence and chat ask it through api.ts.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { defineModule } from '../contract.js';
import type { SocialApi } from './api.js';
import { socialSection } from './config.js';
import { RelationReads } from './relation-reads.js';
import { RelationService } from './relation-service.js';
import { RelationStore } from './relation-store.js';
import { RelationViews } from './relation-view.js';
import { friendRoutes, type RequestCharge } from './routes.js';

const HOUR = 3_600_000;

export const socialModule = defineModule({
  name: 'social',
  config: socialSection,
  needs: ['auth', 'tenancy', 'ratelimit', 'realtime', 'notifications'],
  tables: ['friend_relations'],
  async build({ config, infra, needs }) {
    const store = new RelationStore(infra.db);
    const views = new RelationViews();
    const players = needs.auth.players;
    const service = new RelationService({
      db: infra.db,
      store,
      views,
      players,
      settings: needs.tenancy.settings,
      notifications: needs.notifications,
      realtime: needs.realtime,
      config,
      logger: infra.logger,
    });
    const reads = new RelationReads(store, views, players);

    const charge: RequestCharge = async (reply, scope: ProjectScope, playerId) => {
      const { limits } = await needs.tenancy.settings.get(scope);
      await needs.ratelimit.limiter.consumeOne(reply, {
        name: 'friend-requests',
        key: `{${scope.tenantId}}:${scope.projectId}:rl:friend-requests:${playerId}`,
        limit: limits['friend_requests_per_hour'] ?? config.friendRequestsPerHour,
        windowMs: HOUR,
      });
    };

    const api: SocialApi = {
      relation: (scope, a, b) => reads.relation(scope, a, b),
      blockedEither: (scope, a, b) => reads.blockedEither(scope, a, b),
      blockedBy: (scope, playerId) => reads.blockedBy(scope, playerId),
      blockersOf: (scope, playerId) => reads.blockersOf(scope, playerId),
      friendIds: (scope, playerId) => reads.friendIds(scope, playerId),
      onRelationChanged: (listener) => service.onRelationChanged(listener),
      usePresence: (source) => views.usePresence(source),
    };
    return {
      provides: api,
      async routes(app, { gate }) {
        await app.register(async (players) => {
          gate(players, ['player', 'secret']);
          await friendRoutes(players, { service, reads, charge });
        });
      },
    };
  },
});
