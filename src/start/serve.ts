/**
 * `ggscale serve`: reads config, builds dependencies, listens, opens the database behind the listening
 * server (readyz says 503 until then), and shuts down gracefully on SIGTERM/SIGINT.
 */
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../app/config.js';
import { createLogger, flushLogger, type Logger } from '../internal/telemetry/logger.js';
import { Metrics } from '../internal/telemetry/metrics.js';
import { LazyDatabase } from '../internal/db/lazy.js';
import { DataDirLock } from '../internal/db/lockfile.js';
import { loadMigrations, migrateUp } from '../internal/db/migrate.js';
import { openDatabase } from '../internal/db/open.js';
import { bindDeploymentNamespace, createCache } from '../internal/cache/index.js';
import { migrationsDir } from '../internal/paths.js';
import { buildApp } from '../app/build.js';
import { warmUp } from '../http/lazy-compile.js';
import { ensureAdminTokenFile } from './admin-token.js';
import { explainListenError } from './listen-error.js';

const WARM_UP_DELAY_MS = 500;

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Resolves once the database is open and migrated (rejects if that failed). */
  databaseReady: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

export async function serve(config: Config, logger: Logger = createLogger({ level: config.logLevel })): Promise<RunningServer> {
  const embedded = config.databaseUrl === undefined;
  let lock: DataDirLock | undefined;
  if (embedded) {
    mkdirSync(config.dataDir, { recursive: true });
    lock = DataDirLock.acquire(config.dataDir);
    if (config.adminToken === undefined) {
      const tokenFile = ensureAdminTokenFile(config.dataDir);
      logger.info({ path: tokenFile.path, created: tokenFile.created }, 'operator token file (GGSCALE_ADMIN_TOKEN unset)');
      config = { ...config, adminToken: tokenFile.token };
    }
  } else if (config.adminToken === undefined) {
    logger.warn('GGSCALE_ADMIN_TOKEN is unset: the operator API is disabled');
  }

  // The database opens while the HTTP stack loads and listens: the embedded one in its own thread.
  const opening = openDatabase(config, {
    onOperator: (action) => logger.debug({ action }, 'operator database path'),
    onMaintenance: (message) => logger.info(message),
  });
  opening.catch(() => undefined); // handled below, once the server listens

  const metrics = new Metrics();
  const db = new LazyDatabase();
  const migrations = await loadMigrations(migrationsDir);
  const cache = await createCache({ backend: config.cacheBackend, redisUrl: config.redisUrl, logger });
  let dbState = 'starting';
  const { app, drain } = await buildApp({ db, cache, logger, metrics, migrations, dbState: () => dbState }, config);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // Nothing is served: give back what the start took (the data folder's lock above all), then say why.
    await app.close().catch(() => undefined);
    await cache.close().catch(() => undefined);
    void opening.then((opened) => opened.close(), () => undefined);
    lock?.release();
    throw explainListenError(error, config.host, config.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
  lock?.setUrl(url);
  logger.info(
    { url, database: embedded ? 'embedded' : 'postgres', cache: config.cacheBackend, startup_ms: Math.round(performance.now()) },
    'listening',
  );

  const databaseReady = (async () => {
    const opened = await opening;
    if (config.migrateOnStart) {
      const applied = await migrateUp(opened, migrations);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    // The shared cache serves nothing until it knows the deployment namespace the database holds: bound
    // before the database takes requests, so no Redis key or channel is ever outside it.
    await bindDeploymentNamespace(opened, cache, { logger, stopped: () => closing !== undefined });
    db.attach(opened);
    dbState = 'ok';
    logger.info({ ms: Math.round(performance.now()) }, 'database ready');
  })();
  // Route schemas compile a moment after the database is up, so the two never compete for the main thread
  // before readyz; a request that comes first compiles only what it needs.
  void databaseReady
    .catch(() => undefined)
    .then(() => setTimeout(() => warmUp((error) => logger.error({ err: error }, 'a route schema failed to compile')), WARM_UP_DELAY_MS).unref());
  databaseReady.catch((error: unknown) => {
    dbState = 'failed';
    logger.error({ err: error }, 'database failed to open');
  });

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string) =>
    (closing ??= (async () => {
      logger.info({ reason }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.warn('shutdown timeout: closing remaining connections');
        app.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      deadline.unref();
      // A keep-alive connection busy when shutdown began goes idle once answered, and would then hold the
      // close until its keep-alive timeout (72 s): close idle connections as they appear.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
      reaper.unref();
      try {
        // Still listening: readiness says draining while realtime sessions move to other nodes.
        await drain();
        await app.close();
        await databaseReady.catch(() => undefined);
        await db.close();
        await cache.close();
      } finally {
        clearTimeout(deadline);
        clearInterval(reaper);
        lock?.release();
        logger.info('stopped');
        flushLogger(logger);
      }
    })());

  return { app, url, databaseReady, shutdown };
}
