/**
 * Presence (docs/api/presence.md): each player's online state, status and meta, pushed on every node to its
 * online friends, to the players other modules add (party members) and to subscribers, never across a block;
 * the `presence` of friend relations over REST. No table: it lives in the cache backend beside the sessions.
 */
import { RELATION_SIGNAL } from '../social/api.js';
import { defineModule } from '../contract.js';
import { PRESENCE_RECHECK_SIGNAL, type PresenceApi } from './api.js';
import { presenceSection } from './config.js';
import { presenceOps } from './ops.js';
import { PresenceService } from './presence-service.js';
import { PresenceStore } from './presence-store.js';
import { PresenceSubscriptions } from './subscriptions.js';
import { latestPresenceOnly } from './latest-only.js';
import { channelAudience, recheckOnChannelLeave } from './channel-audience.js';
import { partyAudience, recheckOnPartyChange } from './party-audience.js';

export const presenceModule = defineModule({
  name: 'presence',
  config: presenceSection,
  needs: ['auth', 'tenancy', 'ratelimit', 'realtime', 'social', 'parties', 'chat'],
  tables: [],
  async build({ config, infra, needs }) {
    const { realtime, social } = needs;
    const service = new PresenceService({ store: new PresenceStore(infra.cache), realtime, social, players: needs.auth.players, logger: infra.logger });
    const subscriptions = new PresenceSubscriptions(realtime, social, service);
    realtime.registerOps(presenceOps({ service, subscriptions, limiter: needs.ratelimit.limiter, settings: needs.tenancy.settings, config }));
    realtime.onPlayerOnline((scope, playerId) => service.wentOnline(scope, playerId));
    realtime.onPlayerOffline((scope, playerId) => service.wentOffline(scope, playerId));
    realtime.filterEvents(latestPresenceOnly(realtime));
    const recheck = (session: Parameters<PresenceSubscriptions['recheck']>[0]) =>
      void subscriptions.recheck(session).catch((error: unknown) => infra.logger.warn({ err: error }, 'presence: re-checking subscriptions failed'));
    realtime.onSignal(RELATION_SIGNAL, recheck);
    realtime.onSignal(PRESENCE_RECHECK_SIGNAL, recheck);
    service.audiences.push(partyAudience(needs.parties));
    recheckOnPartyChange(needs.parties, realtime, infra.logger);
    service.audiences.push(channelAudience(needs.chat));
    recheckOnChannelLeave(needs.chat, realtime, infra.logger);
    social.usePresence(async (scope, playerIds) => new Map([...(await service.presences(scope, playerIds))].map(([id, presence]) => [id, { ...presence }])));

    const api: PresenceApi = {
      presences: (scope, playerIds) => service.presences(scope, playerIds),
      addAudience: (audience) => service.audiences.push(audience),
    };
    return { provides: api };
  },
});
