/**
 * The ggscale under soak: the built dist/cli.js as its own process (bench/support/process.ts), on the
 * embedded database by default, or on a throwaway database of DATABASE_URL (created here, dropped after)
 * with CACHE_BACKEND=redis on REDIS_URL when those are set. Request budgets are raised (the soak measures
 * leaks, not limits); the connection cap per player stays low, so a leaked slot would show as a 429.
 * Its stdout (JSON log lines) goes to a file that is scanned for warnings and errors at the end.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import postgres from 'postgres';
import { buildGgscale } from '../bench/support/build.js';
import { createBenchDatabase, type BenchDatabase } from '../bench/support/pg.js';
import { spawnServer, stop, waitForStatus, type ServerProcess } from '../bench/support/process.js';

const UNLIMITED = '100000000';

export interface SoakServerOptions {
  build: boolean;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
}

export interface SoakServer {
  process: ServerProcess;
  adminToken: string;
  /** What it runs on, for the report. */
  description: string;
  logFile: string;
  /** SIGTERM and wait; the exit code (null when killed). */
  stop(): Promise<number | null>;
  /** Drops the database and the Redis keys of this run; removes the data folder unless keepLog. */
  cleanUp(keepLog: boolean): Promise<void>;
}

/** Without a database number in REDIS_URL the run takes one of 1..15, apart from other users of db 0. */
function redisFor(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname.length <= 1) parsed.pathname = `/${1 + Math.floor(Math.random() * 15)}`;
  return parsed.toString();
}

async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Without autovacuum the server keeps its own planner statistics (PostgresDatabase: ANALYZE as tables
 * change), with a delay that grows to a minute: the report says which kind of server the figures come from.
 */
async function autovacuumNote(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await sql<{ autovacuum: string }[]>`show autovacuum`;
    return row?.autovacuum === 'off' ? ' (autovacuum off: statistics kept by ggscale)' : '';
  } finally {
    await sql.end();
  }
}

export async function startSoakServer(options: SoakServerOptions): Promise<SoakServer> {
  if (options.build) buildGgscale();
  const dataDir = mkdtempSync(join(tmpdir(), 'ggscale-soak-'));
  const logFile = join(dataDir, 'server.log');
  const adminToken = `soak-operator-${randomBytes(24).toString('hex')}`;
  let database: BenchDatabase | undefined;
  if (options.databaseUrl) database = await createBenchDatabase(options.databaseUrl);
  const redisUrl = options.redisUrl ? redisFor(options.redisUrl) : undefined;
  const leaderboardPrefix = `ggscale-soak-${randomBytes(4).toString('hex')}:`;
  const env: Record<string, string> = {
    GGSCALE_DATA_DIR: dataDir,
    GGSCALE_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MIN: UNLIMITED,
    SECRET_KEY_RATE_LIMIT_PER_MIN: UNLIMITED,
    AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
    PROJECT_AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
    BAD_CREDENTIALS_PER_IP_PER_MIN: UNLIMITED,
    AUTH_FAILURES_PER_EMAIL_IP: UNLIMITED,
    AUTH_FAILURES_PER_EMAIL: UNLIMITED,
    // One socket per player: two slots leave room for a reconnect that overtakes the old socket's release.
    WS_MAX_CONNECTIONS_PER_PLAYER: '2',
    // The soak does not allocate game servers: no warm buffer processes competing for the 2 cores.
    FLEET_LOCAL_BUFFER: '0',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(redisUrl ? { CACHE_BACKEND: 'redis', REDIS_URL: redisUrl, LEADERBOARD_REDIS_KEY_PREFIX: leaderboardPrefix } : {}),
  };
  const server = await spawnServer({ args: ['dist/cli.js', 'serve'], env, stdoutFile: logFile });
  try {
    await waitForStatus(server, '/v1/readyz', 200, 120_000, 50);
  } catch (error) {
    await stop(server);
    await database?.drop();
    throw error;
  }
  const where = database ? `PostgreSQL ${new URL(database.url).host}/${database.name}${await autovacuumNote(database.url)}` : 'embedded PGlite';
  const cache = redisUrl ? `Redis ${new URL(redisUrl).host}${new URL(redisUrl).pathname}` : 'memory cache';
  return {
    process: server,
    adminToken,
    description: `${where}, ${cache}`,
    logFile,
    stop: () => stop(server),
    cleanUp: async (keepLog) => {
      await database?.drop();
      if (redisUrl) await dropRedisKeys(redisUrl, leaderboardPrefix).catch(() => undefined);
      if (!keepLog) rmSync(dataDir, { recursive: true, force: true });
      // With the log kept, the embedded database beside it is of no use: only the log stays.
      else for (const entry of ['pg', 'admin-token']) rmSync(join(dataDir, entry), { recursive: true, force: true });
    },
  };
}

export interface LogScan {
  lines: number;
  /** Lines at warn, error or fatal: none belongs in a healthy run. */
  problems: number;
  samples: string[];
  notJson: number;
}

/** Reads the server's log once it has stopped. */
export async function scanLog(file: string): Promise<LogScan> {
  const scan: LogScan = { lines: 0, problems: 0, samples: [], notJson: 0 };
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    scan.lines += 1;
    if (!line.startsWith('{')) scan.notJson += 1;
    if (/"level":"(warn|error|fatal)"/.test(line)) {
      scan.problems += 1;
      if (scan.samples.length < 5) scan.samples.push(line.slice(0, 300));
    }
  }
  return scan;
}
