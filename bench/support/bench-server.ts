/**
 * A ggscale server process for the benchmarks that need routes of their own. It is composed the way
 * `ggscale serve` composes the real one (config from the environment, pino on stdout, the same buildApp),
 * plus bench-only routes chosen by BENCH_ROUTES (comma-separated):
 *   noop       GET /bench/noop: {} inside a secret-key auth context (the cost of authentication alone)
 *   isolation  GET /bench/isolated/:id (db.tenantQuery) and GET /bench/plain/:id (the same select on a
 *              plain pool of the same driver and size, as the login role: no transaction, RLS bypassed);
 *              the scope is BENCH_TENANT_ID / BENCH_PROJECT_ID.
 * BENCH_CACHE_PREFIX keeps a run's Redis keys apart from anything else on the same Redis;
 * BENCH_REDIS_AUTOPIPELINING=1 turns on ioredis auto-pipelining (an experiment for bench/limits.ts).
 * Started with `node --import tsx bench/support/bench-server.ts`; stops on SIGTERM.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { openPool } from '../../src/internal/db/postgres.js';
import { buildApp } from '../../src/app/build.js';
import type { CredentialGate } from '../../src/http/credential-gate.js';
import { Id } from '../../src/http/schemas.js';
import { bindDeploymentNamespace, createCache } from '../../src/internal/cache/index.js';
import { loadConfig, type Config } from '../../src/app/config.js';
import type { Database } from '../../src/internal/db/database.js';
import { LazyDatabase } from '../../src/internal/db/lazy.js';
import { loadMigrations, migrateUp } from '../../src/internal/db/migrate.js';
import { openDatabase } from '../../src/internal/db/open.js';
import { notFound } from '../../src/internal/errors/app-error.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { createLogger, flushLogger } from '../../src/internal/telemetry/logger.js';
import { Metrics } from '../../src/internal/telemetry/metrics.js';
import { PLAYER_BY_ID_SQL } from './queries.js';

const PlayerRow = Type.Object({ id: Type.String(), email: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false });
const ById = { params: Type.Object({ id: Id }, { additionalProperties: false }), response: { 200: PlayerRow } };

async function noopRoute(app: FastifyInstance, gate: CredentialGate): Promise<void> {
  await app.register(async (scope) => {
    gate(scope, ['secret']);
    scope.get(
      '/bench/noop',
      { schema: { operationId: 'benchNoop', hide: true, response: { 200: Type.Object({}, { additionalProperties: false }) } } },
      async () => ({}),
    );
  });
}

async function isolationRoutes(app: FastifyInstance, db: Database, config: Config): Promise<void> {
  const scope = { tenantId: process.env.BENCH_TENANT_ID ?? '', projectId: process.env.BENCH_PROJECT_ID ?? '' };
  if (!config.databaseUrl) throw new Error('the isolation routes need DATABASE_URL');
  // The same driver and pool size and connection settings as PostgresDatabase, without the tenant scope.
  const plain = openPool(config.databaseUrl, config.dbPoolSize, config.statementTimeoutMs, 'ggscale-bench-plain');
  app.addHook('onClose', async () => plain.close(5));

  app.get<{ Params: { id: string } }>('/bench/isolated/:id', { schema: { operationId: 'benchIsolated', hide: true, ...ById } }, async (request) => {
    const [row] = await db.tenantQuery<{ id: string; email: string | null }>(scope, PLAYER_BY_ID_SQL, [request.params.id]);
    if (!row) throw notFound('No such player.');
    return row;
  });
  app.get<{ Params: { id: string } }>('/bench/plain/:id', { schema: { operationId: 'benchPlain', hide: true, ...ById } }, async (request) => {
    const lease = await plain.acquire();
    const [row] = await lease.query<{ id: string; email: string | null }>(PLAYER_BY_ID_SQL, [request.params.id]).finally(() => lease.release());
    if (!row) throw notFound('No such player.');
    return row;
  });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  const migrations = await loadMigrations(migrationsDir);
  const opened = await openDatabase(config);
  await migrateUp(opened, migrations);
  const db = new LazyDatabase();
  db.attach(opened);
  const cache = await createCache({
    backend: config.cacheBackend,
    redisUrl: config.redisUrl,
    keyPrefix: process.env.BENCH_CACHE_PREFIX ?? 'ggscale-bench:',
    logger,
  });
  // As the server does: the shared cache serves nothing until it has the deployment namespace.
  await bindDeploymentNamespace(opened, cache);
  if (process.env.BENCH_REDIS_AUTOPIPELINING === '1') {
    // Experiment (a proposal, not the server's setting): ioredis sends the commands issued in one tick as
    // one write. RedisCache keeps its client private; ioredis reads the option on every command.
    const client = (cache as unknown as { client?: { options: { enableAutoPipelining?: boolean } } }).client;
    if (!client) throw new Error('BENCH_REDIS_AUTOPIPELINING needs CACHE_BACKEND=redis');
    client.options.enableAutoPipelining = true;
  }
  const { app, provisions } = await buildApp({ db, cache, logger, metrics: new Metrics(), migrations, dbState: () => 'ok' }, config);
  const routes = (process.env.BENCH_ROUTES ?? '').split(',').filter(Boolean);
  if (routes.includes('noop')) await noopRoute(app, provisions.auth.gate);
  if (routes.includes('isolation')) await isolationRoutes(app, db, config);
  await app.listen({ port: config.port, host: config.host });

  process.once('SIGTERM', () => {
    void (async () => {
      await app.close();
      await db.close();
      await cache.close();
      flushLogger(logger);
      process.exit(0);
    })();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
