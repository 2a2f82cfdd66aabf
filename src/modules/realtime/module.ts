/**
 * The realtime domain: `GET /v1/realtime` (WebSocket), connection caps shared through the cache backend,
 * server-side heartbeats, and sockets closed on logout, ban and shutdown.
 */
import type { IncomingMessage } from 'node:http';
import websocket from '@fastify/websocket';
import type { DomainModule } from '../../http/modules.js';
import { ConnectionCaps } from './connection-caps.js';
import { CloseCode } from './envelope.js';
import { RealtimeHub } from './hub.js';
import { RealtimeMetrics } from './metrics.js';
import { realtimeRoutes } from './route.js';

export const realtimeModule: DomainModule = {
  name: 'realtime',
  async register(app, { deps, config, services }) {
    const settings = config.realtime;
    const hub = new RealtimeHub({
      policy: settings,
      heartbeatMs: settings.heartbeatMs,
      closeGraceMs: settings.closeGraceMs,
      recheck: (credential) => services.resolver.resolve(credential),
      logger: deps.logger,
    });
    const caps = new ConnectionCaps(deps.cache, services.localCache, {
      ttlMs: settings.leaseTtlMs,
      onFallback: () => deps.metrics.cacheFallback.inc(),
      logger: deps.logger,
    });
    const metrics = new RealtimeMetrics(deps.metrics.registry, () => hub.size);
    // The resolver tells us about every revocation it applies, local or from another node.
    services.resolver.onInvalidate((event) => {
      try {
        hub.invalidate(event);
      } catch (error) {
        deps.logger.warn({ err: error }, 'realtime: applying an invalidation failed');
      }
    });
    // The pub/sub connection dropped: a revocation may have been missed while it was down.
    deps.cache.onResubscribe(() => void hub.recheckAll());

    await app.register(websocket, {
      options: { maxPayload: settings.maxMessageBytes, clientTracking: false, perMessageDeflate: false },
      // Instead of the plugin's default (a close without a code): 1001 to every client, and the node's cap
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
      await realtimeRoutes(scope, { resolver: services.resolver, settings: services.settings, limits: config.limits, caps, hub, metrics });
    });
  },
};
