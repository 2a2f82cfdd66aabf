/**
 * Chat (docs/api/chat.md): `room:`, `dm:` and `party:` channels on the realtime socket (join, leave, send,
 * presence of members, deletes), stored in PostgreSQL with a seq per channel and delivered in that order on
 * every node, with history and deletes over REST and a retention purge. Parties plug their access in
 * through api.ts.
 */
import { randomBytes } from 'node:crypto';
import { defineModule } from '../contract.js';
import { RELATION_SIGNAL } from '../social/api.js';
import type { ChatApi } from './api.js';
import { BlockLists } from './block-lists.js';
import { ChannelRules } from './channel-access.js';
import { parseChannel, TOPIC_PREFIX } from './channel-id.js';
import { ChannelFeed } from './channel-feed.js';
import { ChatService } from './chat-service.js';
import { chatSection } from './config.js';
import { ChatHistory } from './history.js';
import { LeaseRenewal } from './lease-renewal.js';
import { LocalSessions } from './local-sessions.js';
import { projectScopeOf } from '../../http/auth-context.js';
import { LEASE_TTL_MS, Membership } from './membership.js';
import { MessageStore } from './message-store.js';
import { ChatRetentionPurge } from './retention-purge.js';
import { historyRoutes } from './routes.js';

const LEAVE_SIGNAL = 'chat.leave';

export const chatModule = defineModule({
  name: 'chat',
  config: chatSection,
  needs: ['auth', 'tenancy', 'ratelimit', 'realtime', 'social', 'notifications'],
  tables: ['chat_channels', 'chat_messages'],
  async build({ config, infra, needs }) {
    const { realtime, social } = needs;
    const { logger } = infra;
    const store = new MessageStore(infra.db);
    const membership = new Membership(infra.cache);
    const feed = new ChannelFeed(store, logger);
    const sessions = new LocalSessions(realtime, randomBytes(8).toString('hex'));
    const blocks = new BlockLists(social, logger);
    const rules = new ChannelRules(needs.auth.players, social);
    const service = new ChatService({
      db: infra.db,
      store,
      membership,
      feed,
      sessions,
      blocks,
      rules,
      realtime,
      players: needs.auth.players,
      notifications: needs.notifications,
      settings: needs.tenancy.settings,
      limiter: needs.ratelimit.limiter,
      config,
      logger,
    });
    const history = new ChatHistory(store, rules, (topic, event) => service.publish(topic, event));

    realtime.registerOps({
      'channel.join': (request, session) => service.join(session, request),
      'channel.leave': async (request, session) => {
        await service.leave(session, request);
      },
      'channel.send': (request, session) => service.send(session, request),
    });
    realtime.sequenceTopics(TOPIC_PREFIX, feed);
    realtime.filterEvents((session, event) => service.filter(session, event));
    realtime.onSessionEnd((session) => service.ended(session));
    realtime.onSessionResumed((session, send) => service.resumed(session, send));
    realtime.resumedField('channels', (session) => Object.keys(sessions.state(session)?.channels ?? {}));
    // Block lists: re-read at once on the node that made a change (before its answer), and on every node
    // holding a session of either player when social's relation signal reaches it.
    social.onRelationChanged(async (scope, a, b) => {
      await Promise.all([blocks.reload(scope, a, true), blocks.reload(scope, b, true)]);
    });
    realtime.onSignal(RELATION_SIGNAL, (session) => blocks.refresh(projectScopeOf(session), session.playerId, true));
    realtime.onSignal(LEAVE_SIGNAL, (session, signal) => {
      void service.leaveChannel(session, String(signal.channel)).catch((error: unknown) => logger.warn({ err: error }, 'chat: removing a member failed'));
    });

    const api: ChatApi = {
      registerChannelKind: (_kind, access) => rules.registerParty(access),
      async removeMember(scope, channel, playerId) {
        await realtime.signal(scope, [playerId], { type: LEAVE_SIGNAL, channel: parseChannel(channel, playerId).id });
      },
      useMessageMeter: (meter) => service.useMessageMeter(meter),
      channelMates: (session, playerIds) => service.channelMates(session, playerIds),
      onMemberLeft: (listener) => service.onMemberLeft(listener),
    };
    return {
      provides: api,
      async routes(app, { gate }) {
        await app.register(async (callers) => {
          gate(callers, ['player', 'secret']);
          await historyRoutes(callers, history);
        });
      },
      jobs: [
        new ChatRetentionPurge(infra.db, logger, { intervalMs: config.purgeIntervalMs, retentionDays: config.retentionDays }),
        new LeaseRenewal(sessions, membership, logger, Math.floor(LEASE_TTL_MS / 3)),
      ],
    };
  },
});
