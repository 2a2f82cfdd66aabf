/**
 * Builds the HTTP app from its dependencies. Listening, configuration and shutdown live in src/main.ts;
 * tests build the app the same way and drive it with inject() or a real socket.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../app/config.js';
import type { Database } from '../internal/db/database.js';
import type { Migration } from '../internal/db/migrate.js';
import type { CacheBackend } from '../internal/cache/cache.js';
import type { Logger } from '../internal/telemetry/logger.js';
import type { Metrics } from '../internal/telemetry/metrics.js';
import { createValidatorCompiler } from './validation.js';
import { lazySerializerFactory } from './lazy-compile.js';
import { installProblemHandlers, sendProblem } from './problem.js';
import { installRequestDeadline, serverTimeouts } from './deadline.js';
import { refuseUnstorableText } from './storable-text.js';
import { clientErrorHandler, missingHost, refuseConnect, refuseExpectation } from './client-errors.js';
import { closeUnusedUpgrade } from './unused-upgrade.js';
import { registerOpenApi } from './openapi.js';
import { requestIdOf } from './request-id.js';
import { createAccessLog } from '../internal/telemetry/access-log.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { addAuthHook } from './auth-hook.js';
import { registerCors } from './cors.js';
import { registerJsonParser } from './json-body.js';
import { buildServices } from './services.js';
import { adminRoutes } from '../modules/tenancy/admin-routes.js';
import { authRoutes } from '../modules/auth/auth-routes.js';
import { domainModules } from './modules.js';

export interface AppDeps {
  db: Database;
  cache: CacheBackend;
  logger: Logger;
  metrics: Metrics;
  migrations: Migration[];
  /** Why the database is not usable yet ('starting', 'failed'), when the caller knows. */
  dbState?: () => string;
}

export const API_VERSION = '1.0.0';

export async function buildApp(deps: AppDeps, config: Config): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger with more members; Fastify's generics would otherwise leak it everywhere.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one line in the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdOf,
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    // Deadlines (./deadline.ts): the whole request within REQUEST_TIMEOUT_MS, its head and body as well.
    requestTimeout: serverTimeouts(config.requestTimeoutMs).requestTimeout,
    // While closing, new requests get our own 503 problem (the onRequest hook below), not Fastify's bare JSON.
    return503OnClosing: false,
    schemaController: { compilersFactory: { buildSerializer: lazySerializerFactory } },
    // Errors Fastify raises before routing (a URL that cannot be decoded, a bad content-type header) are
    // problem JSON too.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(request, reply, 'validation', 400, error.message.slice(0, 300));
    },
    // ...and so are requests Node's HTTP parser refuses before Fastify sees them (bad bytes, oversized heads).
    clientErrorHandler,
    // Node's own Host check answers a bare 400; missingHost (in the onRequest hook) makes it problem JSON.
    http: { requireHostHeader: false, ...serverTimeouts(config.requestTimeoutMs) },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 256 },
  });
  app.server.on('checkExpectation', refuseExpectation);
  app.server.on('connect', refuseConnect);
  app.setValidatorCompiler(createValidatorCompiler());
  // JSON only by default (anything else is 415); storage registers its raw-bytes parser in its own context.
  app.removeContentTypeParser('text/plain');
  // Before any route context is registered: they copy the parsers they inherit.
  registerJsonParser(app);
  deps.metrics.observePool(() => deps.db.poolStats());
  installProblemHandlers(app);
  // Before any route is added, so it guards them all (NUL and lone surrogates are 400, not a 500 from SQL).
  app.addHook('preValidation', refuseUnstorableText);

  // Callback-style hooks: on every request, a promise per hook is measurable.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    closeUnusedUpgrade(request, reply);
    if (closing) {
      // A request on a keep-alive connection that was busy when shutdown began: tell the client to go elsewhere.
      reply.header('connection', 'close');
      void sendProblem(request, reply, 'unavailable', 503, 'The server is shutting down; try again shortly.', 1);
      return;
    }
    done(missingHost(request));
  });
  installRequestDeadline(app, config.requestTimeoutMs);

  // One log line and one histogram sample per request, by route template (never the raw URL: it may carry
  // a ?token=).
  const accessLog = createAccessLog(deps.logger);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    deps.metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, ms / 1000);
    accessLog({ requestId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(ms * 100) / 100 });
    done();
  });

  registerCors(app, {
    global: config.corsOrigins,
    // The services exist from a few lines below; these run per request, long after.
    anyProjectAllows: (origin) => app.services.projectOrigins.allows(origin),
    projectAllows: (scope, origin) => {
      const settings = app.services.settings.current(scope);
      if (settings instanceof Promise) return settings.then((loaded) => loaded.cors_origins.includes(origin));
      return settings.cors_origins.includes(origin);
    },
  });

  await registerOpenApi(app, config.publicUrl, API_VERSION);
  await app.register(healthRoutes, { deps, config });
  await app.register(metricsRoute, { deps });

  const services = await buildServices(deps, config);
  app.decorate('services', services);
  app.decorateRequest('auth', undefined);
  app.addHook('onClose', () => services.close());

  await app.register(async (operator) => {
    addAuthHook(operator, { resolver: services.resolver, accept: ['operator'] });
    await operator.register(adminRoutes, {
      tenancy: services.tenancy,
      keys: services.keys,
      publishLeadSeconds: config.auth.keyPublishLeadSeconds,
    });
  });
  await app.register(authRoutes, services);
  for (const module of domainModules) {
    await app.register(async (scope) => module.register(scope, { deps, config, services }));
  }

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
