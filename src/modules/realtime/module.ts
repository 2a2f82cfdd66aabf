/**
 * The realtime domain: `GET /v1/realtime` (WebSocket), connection caps shared through the cache backend,
 * server-side heartbeats, sockets closed on logout, ban and shutdown, the op set other modules extend,
 * events to players and topics on every node through the fan-out backend, and sessions that survive their
 * connection: resumed on any node within their window, and handed on when a node drains.
 */
import type { IncomingMessage } from 'node:http';
import websocket from '@fastify/websocket';
import { createFanout } from '../../internal/fanout/index.js';
import { defineModule } from '../contract.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { RealtimeApi, RealtimeEvent, SessionRef } from './api.js';
import { realtimeSection } from './config.js';
import { ConnectionCaps } from './connection-caps.js';
import { CloseCode } from './envelope.js';
import { RealtimeHub } from './hub.js';
import { RealtimeMetrics } from './metrics.js';
import { NodeLink } from './node-link.js';
import { OnlinePlayers } from './online-players.js';
import { OpRegistry } from './ops.js';
import { ResumeStore } from './resume-store.js';
import { realtimeRoutes } from './route.js';
import { SessionStarter } from './session-start.js';
import { SIGNAL_OP } from './session.js';
import { SessionRegistry } from './sessions.js';
import { SessionHooks } from './session-hooks.js';
import { TopicRouter, playerTopic } from './topics.js';

/** How long a node resuming a session waits for the node holding it to hand it over. */
const HANDOVER_TIMEOUT_MS = 2_000;

export const realtimeModule = defineModule({
  name: 'realtime',
  config: realtimeSection,
  needs: ['auth', 'tenancy', 'ratelimit'],
  tables: [],
  async build({ config, infra, needs }) {
    const { credentials } = needs.auth;
    const { logger } = infra;
    const fanout = await createFanout({ backend: infra.core.cacheBackend, redisUrl: infra.core.redisUrl, namespace: () => infra.namespace.get(), logger });
    const ops = new OpRegistry();
    // Usage's messages meter: client frames accepted (not pings) and event frames delivered, on this node.
    const messageListeners: ((scope: ProjectScope) => void)[] = [];
    const messageCounted = (scope: ProjectScope): void => {
      for (const listener of messageListeners) listener(scope);
    };
    const starter = new SessionStarter(
      { heartbeatMs: config.heartbeatMs, maxMessageBytes: config.maxMessageBytes, resumeWindowSeconds: config.resumeWindowMs / 1000 },
      logger,
    );
    // The gauges read the hub at collect time, long after it exists.
    const metrics = new RealtimeMetrics(infra.metrics.registry, () => hub.size, () => fanout.topicCount, () => sessions.size);
    const topics = new TopicRouter(fanout, logger, (latencyMs) => metrics.fanoutLatency.observe(Math.max(0, latencyMs) / 1000));
    const hooks = new SessionHooks(logger);
    const resumes = new ResumeStore(infra.cache, Math.max(1, config.resumeWindowMs));
    const link = new NodeLink(fanout, logger);
    const online = new OnlinePlayers(infra.cache, config.leaseTtlMs, logger);
    const sessions = new SessionRegistry({
      context: {
        limits: { events: config.resumeBufferEvents, bytes: config.resumeBufferBytes },
        filters: hooks.filters,
        onEventSent: (identity) => {
          metrics.eventsDelivered.inc();
          messageCounted(identity);
        },
        onSignal: (session, event) => hooks.signal(session, event),
      },
      windowMs: config.resumeWindowMs,
      topics,
      resumes,
      link,
      online,
      handoverTimeoutMs: HANDOVER_TIMEOUT_MS,
      onEnd: (session) => hooks.ended(session),
      onResumeOutcome: (outcome) => metrics.resumes.inc({ outcome }),
      logger,
    });
    // Not awaited: on Redis the subscription waits for the deployment namespace, which needs the database,
    // and the app must start (and answer healthz) while the database is still away.
    void link.start((request) => sessions.answer(request));
    const hub = new RealtimeHub({
      connection: { policy: config, ops, opTimeoutMs: infra.core.requestTimeoutMs, logger, onFrameAccepted: messageCounted },
      sessions,
      starter,
      heartbeatMs: config.heartbeatMs,
      closeGraceMs: config.closeGraceMs,
      recheck: (credential) => credentials.resolve(credential),
      logger,
    });
    const caps = new ConnectionCaps(infra.cache, infra.localCache, {
      ttlMs: config.leaseTtlMs,
      onFallback: () => infra.metrics.cacheFallback.inc(),
      logger,
    });
    // The resolver tells us about every revocation it applies, local or from another node.
    credentials.onInvalidate((event) => {
      try {
        hub.invalidate(event);
      } catch (error) {
        logger.warn({ err: error }, 'realtime: applying an invalidation failed');
      }
    });
    // The pub/sub connection dropped: a revocation may have been missed while it was down.
    infra.cache.onResubscribe(() => void hub.recheckAll());

    const toPlayers = async (scope: ProjectScope, playerIds: readonly string[], event: RealtimeEvent): Promise<void> => {
      await Promise.all([...new Set(playerIds)].map((playerId) => topics.publish(playerTopic(scope.tenantId, scope.projectId, playerId), event)));
    };
    const live = (session: SessionRef) => {
      const found = sessions.byKey(session.key);
      if (!found) throw new Error('realtime: that session has ended');
      return found;
    };
    const api: RealtimeApi = {
      resumeWindowMs: config.resumeWindowMs,
      registerOps: (entries) => ops.register(entries),
      onMessage: (listener) => void messageListeners.push(listener),
      openConnections: () => caps.openCounts(),
      opNames: () => ops.names,
      toPlayers,
      onSessionStart: (listener) => starter.onSessionStart(listener),
      welcomeField: (name, value) => starter.welcomeField(name, value),
      async joinTopic(session, topic) {
        const found = live(session);
        found.topics.add(topic);
        await topics.join(topic, found);
        // Ended or moved meanwhile: the topic was not left with the others.
        if (sessions.byKey(session.key) !== found) topics.leave(topic, found);
      },
      leaveTopic(session, topic) {
        const found = sessions.byKey(session.key);
        if (found?.topics.delete(topic)) topics.leave(topic, found);
      },
      topicsOf: (session) => [...(sessions.byKey(session.key)?.topics ?? [])],
      publish: (topic, event) => topics.publish(topic, event),
      sequenceTopics: (prefix, sequencer) => topics.sequenceTopics(prefix, sequencer),
      filterEvents: (filter) => hooks.filters.push(filter),
      sessionState: <T>(session: SessionRef, name: string) => sessions.byKey(session.key)?.state.get(name) as T | undefined,
      setSessionState(session, name, value) {
        sessions.byKey(session.key)?.state.set(name, value);
      },
      onSessionEnd: (listener) => hooks.onEnd(listener),
      resumedField: (name, value) => starter.resumedField(name, value),
      onSessionResumed: (listener) => starter.onSessionResumed(listener),
      signal: (scope, playerIds, signal) => toPlayers(scope, playerIds, { op: SIGNAL_OP, signal }),
      signalTopic: (topic, signal) => topics.publish(topic, { op: SIGNAL_OP, signal }),
      onSignal: (type, listener) => hooks.onSignal(type, listener),
      online: (scope, playerIds) => online.which(scope, playerIds),
      onPlayerOnline: (listener) => online.onOnline(listener),
      onPlayerOffline: (listener) => online.onOffline(listener),
    };

    return {
      provides: api,
      async routes(app, { gate }) {
        await app.register(websocket, {
          options: { maxPayload: config.maxMessageBytes, clientTracking: false, perMessageDeflate: false },
          // Instead of the plugin's default (a close without a code): 1012 to every client, and the node's cap
          // leases released at once rather than left to expire.
          preClose: async () => {
            await Promise.all([hub.shutdown(), caps.close()]);
          },
          // ws has already closed the socket with the right code for protocol errors (1007, 1009, ...); these
          // are the client's faults, not ours, so they are not logged as errors.
          errorHandler: (error, socket, request) => {
            request.log.debug({ err: error }, 'realtime socket error');
            if (socket.readyState === socket.OPEN) socket.close(CloseCode.internalError, 'internal error');
          },
        });
        // ws writes the 101 itself, not Fastify: the request id reaches it through ws's 'headers' event.
        const requestIds = new WeakMap<IncomingMessage, string>();
        app.websocketServer.on('headers', (headers: string[], raw: IncomingMessage) => {
          const id = requestIds.get(raw);
          if (id !== undefined) headers.push(`X-Request-Id: ${id}`);
        });
        await app.register(async (scope) => {
          scope.addHook('preHandler', (request, _reply, done) => {
            requestIds.set(request.raw, request.id);
            done();
          });
          await realtimeRoutes(scope, { gate, settings: needs.tenancy.settings, limits: needs.ratelimit.limits, caps,
            hub,
            metrics,
            resumable: (auth, token) =>
              resumes.peek(token, { tenantId: auth.tenantId, projectId: auth.projectId, playerId: auth.playerId!, sessionId: auth.sessionId! }).catch(() => false),
          });
        });
      },
      drain: () => hub.drain(config.reconnectSpreadMs),
      async close() {
        online.close();
        await link.close();
        await fanout.close();
      },
    };
  },
});
