/**
 * Parties (docs/api/parties.md): small groups of players on the realtime socket (create, invite, join, leave,
 * kick, promote, relayed data, reads), kept in the cache backend's kind (memory or Redis: party-store.ts),
 * with their events in version order on every node, a disconnect grace swept by every node, invites ended by
 * blocks, access to `party:` chat channels, and a REST read.
 */
import type { CoreConfig } from '../../internal/config/core.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { defineModule } from '../contract.js';
import type { PartiesApi } from './api.js';
import { partiesSection, type PartiesConfig } from './config.js';
import { MemoryPartyStore } from './memory-party-store.js';
import { PARTY_SIGNAL, PartyChanges } from './party-changes.js';
import { PartyService } from './party-service.js';
import type { PartyStore } from './party-store.js';
import { DisconnectSweeper, PartyUpkeep } from './party-upkeep.js';
import { partyRoutes } from './routes.js';
import { SessionParties } from './session-parties.js';

const REDIS_FIRST_CONNECT_MS = 1_000;

async function createStore(core: Pick<CoreConfig, 'cacheBackend' | 'redisUrl'>, config: PartiesConfig, namespace: () => Promise<string>): Promise<PartyStore> {
  if (core.cacheBackend === 'memory') return new MemoryPartyStore();
  const { RedisPartyStore } = await import('./redis-party-store.js');
  const store = new RedisPartyStore({ url: core.redisUrl, keyPrefix: config.redisKeyPrefix, namespace });
  await store.waitReady(REDIS_FIRST_CONNECT_MS);
  return store;
}

export const partiesModule = defineModule({
  name: 'parties',
  config: partiesSection,
  needs: ['auth', 'tenancy', 'ratelimit', 'realtime', 'social', 'notifications', 'chat'],
  tables: [],
  async build({ config, infra, needs }) {
    const { realtime, social, chat } = needs;
    const { logger } = infra;
    const store = await createStore(infra.core, config, () => infra.namespace.get());
    const changes = new PartyChanges(store, realtime, logger, (scope, channel, playerId) => chat.removeMember(scope, channel, playerId));
    const sessions = new SessionParties(realtime, store, logger);
    const service = new PartyService({
      store,
      changes,
      sessions,
      realtime,
      social,
      players: needs.auth.players,
      notifications: needs.notifications,
      settings: needs.tenancy.settings,
      limiter: needs.ratelimit.limiter,
      config,
    });
    const upkeep = new PartyUpkeep(store, changes, service, realtime, social);
    const logged = (what: string) => (error: unknown) => logger.warn({ err: error }, `parties: ${what} failed`);

    realtime.registerOps({
      'party.create': (request, session) => sessions.createOnce(session, request, () => service.create(session, request)),
      'party.invite': (request, session) => service.invite(session, request),
      'party.join': (request, session) => service.join(session, request),
      'party.leave': (request, session) => service.leave(session, request),
      'party.kick': (request, session) => service.kick(session, request),
      'party.promote': (request, session) => service.promote(session, request),
      'party.data': (request, session) => service.data(session, request),
      'party.get': (request, session) => service.get(session, request),
    });
    realtime.onSessionStart((session) => sessions.refresh(session));
    realtime.onSignal(PARTY_SIGNAL, (session) => void sessions.refresh(session));
    realtime.resumedField('party_id', (session) => sessions.partyIdOf(session));
    realtime.onPlayerOffline((scope, playerId) => upkeep.offline(scope, playerId).catch(logged('starting a disconnect grace')));
    realtime.onPlayerOnline((scope, playerId) => upkeep.online(scope, playerId).catch(logged('ending a disconnect grace')));
    // A block ends invites between the two: the node where the change was made updates the store.
    social.onRelationChanged((scope, a, b) => upkeep.relationChanged(scope, a, b).catch(logged('ending invites after a block')));
    chat.registerChannelKind('party', {
      mayUse: async (scope, partyId, playerId) => (await store.partyOf(scope, playerId)) === partyId,
    });

    const api: PartiesApi = {
      partyOf: (scope: ProjectScope, playerId: string) => store.partyOf(scope, playerId),
      leaderOf: async (scope, partyId) => (await store.get(scope, partyId))?.leader_id,
      membersOf: async (scope, partyId) => (await store.get(scope, partyId))?.members.map((member) => member.player_id) ?? [],
      onPartyChanged: (listener) => changes.onChanged(listener),
    };
    return {
      provides: api,
      async routes(app, { gate }) {
        await app.register(async (callers) => {
          gate(callers, ['player', 'secret']);
          await partyRoutes(callers, service);
        });
      },
      jobs: [new DisconnectSweeper(store, upkeep, logger, config.sweepIntervalMs)],
      async close() {
        await store.close();
      },
    };
  },
});
