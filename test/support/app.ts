/** Builds the app the way main does, with a captured logger, for inject() tests. */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app/build.js';
import type { Provisions } from '../../src/modules/contract.js';
import { loadConfig, type Config } from '../../src/app/config.js';
import type { Database } from '../../src/internal/db/database.js';
import { LazyDatabase } from '../../src/internal/db/lazy.js';
import { loadMigrations } from '../../src/internal/db/migrate.js';
import { bindDeploymentNamespace, createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { migrationsDir } from '../../src/internal/paths.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { Metrics } from '../../src/internal/telemetry/metrics.js';

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestApp {
  app: FastifyInstance;
  /** What the modules offer each other (the credential gate, the credentials, project settings). */
  provisions: Provisions;
  db: LazyDatabase;
  logs: LogCapture;
  config: Config;
  /** SIGTERM's first step (readiness says draining; realtime sessions move on); close afterwards. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function buildTestApp(
  options: { db?: Database; env?: Record<string, string>; routes?: (app: FastifyInstance) => void; cache?: CacheBackend } = {},
): Promise<TestApp> {
  const config = loadConfig({ GGSCALE_ADMIN_TOKEN: 'test-operator-token-0123456789abcdef', LOG_LEVEL: 'info', ...options.env });
  const logs = new LogCapture();
  const logger = createLogger({ level: config.logLevel, destination: logs });
  const db = new LazyDatabase();
  if (options.db) db.attach(options.db);
  const cache = options.cache ?? (await createCache({ backend: 'memory' }));
  // As the server does once its database is open: a shared cache serves nothing until it has the namespace.
  let closed = false;
  if (options.db) await bindDeploymentNamespace(options.db, cache, { stopped: () => closed });
  const metrics = new Metrics({ processMetrics: false });
  const { app, provisions, drain } = await buildApp({ db, cache, logger, metrics, migrations: await loadMigrations(migrationsDir) }, config);
  options.routes?.(app);
  await app.ready();
  return {
    app,
    provisions,
    db,
    logs,
    config,
    drain,
    close: async () => {
      closed = true;
      await app.close();
      if (!options.cache) await cache.close();
    },
  };
}
