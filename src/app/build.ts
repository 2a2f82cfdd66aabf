/**
 * The composition root: builds the HTTP app from the infrastructure it is given and every module in the
 * registry. Listening, configuration and shutdown live in src/start/serve.ts; tests build the app the same
 * way and drive it with inject() or a real socket.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { projectLimits, type Config } from './config.js';
import type { Database } from '../internal/db/database.js';
import type { Migration } from '../internal/db/migrate.js';
import type { CacheBackend } from '../internal/cache/cache.js';
import type { Logger } from '../internal/telemetry/logger.js';
import type { Metrics } from '../internal/telemetry/metrics.js';
import { MemoryCache } from '../internal/cache/memory.js';
import { DeploymentNamespace } from '../internal/cache/namespace.js';
import { createValidatorCompiler } from '../http/validation.js';
import { lazySerializerFactory } from '../http/lazy-compile.js';
import { installProblemHandlers, sendProblem } from '../http/problem.js';
import { installRequestDeadline, serverTimeouts } from '../http/deadline.js';
import { refuseUnstorableText } from '../http/storable-text.js';
import { clientErrorHandler, missingHost, refuseConnect, refuseExpectation } from '../http/client-errors.js';
import { closeUnusedUpgrade } from '../http/unused-upgrade.js';
import { registerOpenApi } from '../http/openapi.js';
import { requestIdOf } from '../http/request-id.js';
import { registerCors } from '../http/cors.js';
import { registerJsonParser } from '../http/json-body.js';
import { createAccessLog } from '../internal/telemetry/access-log.js';
import type { Provisions } from '../modules/contract.js';
import { composeModules } from './compose.js';
import { modules } from './registry.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';

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

export interface BuiltApp {
  app: FastifyInstance;
  /** What the modules offer each other (tests and benchmarks reach the gate and the credentials here). */
  provisions: Provisions;
  /**
   * SIGTERM's first step, while the server still listens: readiness answers 503 draining, and the modules
   * hand their work on (realtime sessions move to other nodes). Close the app afterwards.
   */
  drain: () => Promise<void>;
}

export async function buildApp(deps: AppDeps, config: Config): Promise<BuiltApp> {
  // The per-node fallback when a shared backend is unreachable (the shared one itself on memory).
  const localCache = deps.cache.kind === 'memory' ? deps.cache : new MemoryCache();
  const infra = { ...deps, localCache, namespace: new DeploymentNamespace(deps.db), core: config, projectLimits: projectLimits() };
  const composed = await composeModules(modules, infra, config).catch(async (error: unknown) => {
    if (localCache !== deps.cache) await localCache.close();
    throw error;
  });
  const { provisions } = composed;
  const { usage } = provisions;

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
    usage.requestAnswered(request.auth, reply.statusCode);
    done();
  });

  const { tenancy } = provisions;
  registerCors(app, {
    global: config.corsOrigins,
    anyProjectAllows: (origin) => tenancy.anyProjectAllowsOrigin(origin),
    projectAllows: (scope, origin) => {
      const settings = tenancy.settings.current(scope);
      if (settings instanceof Promise) return settings.then((loaded) => loaded.cors_origins.includes(origin));
      return settings.cors_origins.includes(origin);
    },
  });

  await registerOpenApi(app, config.publicUrl, API_VERSION);
  let draining: Promise<void> | undefined;
  await app.register(healthRoutes, { deps, config, draining: () => draining !== undefined });
  await app.register(metricsRoute, { deps });

  app.decorateRequest('auth', undefined);
  app.addHook('onClose', async () => {
    await composed.close();
    if (localCache !== deps.cache) await localCache.close();
  });
  await composed.registerRoutes(app, { gate: provisions.auth.gate });
  composed.startJobs();

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return { app, provisions, drain: () => (draining ??= composed.drain()) };
}
