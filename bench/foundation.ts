/**
 * The foundation's figures, each beside a baseline measured in the same run:
 *  1. start-up: spawn → first 200 from /v1/healthz and → /v1/readyz 200 (embedded and PostgreSQL), beside a
 *     bare node:http server bundled and started the same way;
 *  2. /v1/healthz req/s and p99 beside bare node:http under the same autocannon load;
 *  3. the cost of tenant isolation on each PostgreSQL client (DATABASE_DRIVER wire and postgres.js):
 *     db.tenantQuery vs the same indexed select run plainly, in-process at the driver and end to end over HTTP,
 *     each with the database server's CPU time per read (its backends' /proc/<pid>/schedstat).
 * Run: node --import tsx bench/foundation.ts (needs PostgreSQL at BENCH_DATABASE_URL, default local);
 * `--sections=isolation` (or startup, healthz; comma-separated) runs only those.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { DatabaseDriver } from '../src/internal/config/core.js';
import type { Database } from '../src/internal/db/database.js';
import { openPostgres } from '../src/internal/db/open.js';
import { openPool } from '../src/internal/db/postgres.js';
import { BackendCpu, processCpuNs } from './support/backend-cpu.js';
import { BENCH_ADMIN_TOKEN } from './support/api.js';
import { PLAYER_BY_ID_SQL } from './support/queries.js';
import { buildBareServer, buildGgscale } from './support/build.js';
import { driveAlternating } from './support/drive.js';
import { alternate } from './support/load.js';
import { createBenchDatabase, seedPlayers, type BenchDatabase } from './support/pg.js';
import type { RoundProbe } from './support/probe.js';
import { ServerPool, waitForStatus, type ServerProcess, type SpawnOptions } from './support/process.js';
import { Report, fmt, infoRow, median, throughputRow, timeRow, type Row } from './support/table.js';
import { runBench } from './support/run-bench.js';

const STARTS_EMBEDDED = 7;
const STARTS_POSTGRES = 5;
const HEALTHZ_ROUNDS = 5; // × HEALTHZ_SECONDS each, alternating with the baseline (~10 s each in all)
const HEALTHZ_SECONDS = 2;
const ISOLATION_CALLERS = 32;
const ISOLATION_ROUNDS = 4;
const ISOLATION_SECONDS = 2;
const SEEDED_PLAYERS = 5_000;
const DRIVERS: DatabaseDriver[] = ['wire', 'postgres.js'];
const SECTIONS = (process.argv.find((arg) => arg.startsWith('--sections='))?.slice('--sections='.length) ?? 'startup,healthz,isolation').split(',');

const report = new Report('foundation');
const pool = new ServerPool();
const scratch = mkdtempSync(join(tmpdir(), 'ggscale-bench-'));

/** One start: spawn → healthz 200 (polled every 2 ms), then → readyz 200 (every 10 ms); then SIGTERM. */
async function startOnce(options: SpawnOptions, readiness: boolean): Promise<{ healthzMs: number; readyzMs?: number }> {
  const server = await pool.start(options);
  try {
    const healthAt = await waitForStatus(server, '/v1/healthz', 200, 30_000, 2);
    const readyAt = readiness ? await waitForStatus(server, '/v1/readyz', 200, 30_000, 10) : undefined;
    return { healthzMs: healthAt - server.spawnedAt, ...(readyAt === undefined ? {} : { readyzMs: readyAt - server.spawnedAt }) };
  } finally {
    await pool.stop(server);
  }
}

async function startUp(dataDir: string, bare: string, databaseUrl: string): Promise<void> {
  const ggscale = (env: Record<string, string>): SpawnOptions => ({ args: ['dist/cli.js', 'serve'], env });
  const embeddedEnv = { GGSCALE_DATA_DIR: dataDir };
  const postgresEnv = { DATABASE_URL: databaseUrl, GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN };
  const postgresJsEnv = { ...postgresEnv, DATABASE_DRIVER: 'postgres.js' };
  // Prepare: one start + stop migrates the embedded data folder, so the runs below measure a warm start.
  await startOnce(ggscale(embeddedEnv), true);

  const bareMs: number[] = [];
  const embedded: { healthzMs: number; readyzMs?: number }[] = [];
  const onPostgres: { healthzMs: number; readyzMs?: number }[] = [];
  const onPostgresJs: { healthzMs: number; readyzMs?: number }[] = [];
  // Interleaved, so drift on the machine falls on all three alike.
  for (let run = 0; run < STARTS_EMBEDDED; run++) {
    bareMs.push((await startOnce({ args: [bare] }, false)).healthzMs);
    embedded.push(await startOnce(ggscale(embeddedEnv), true));
    if (run < STARTS_POSTGRES) onPostgres.push(await startOnce(ggscale(postgresEnv), true));
    if (run < STARTS_POSTGRES) onPostgresJs.push(await startOnce(ggscale(postgresJsEnv), true));
  }
  const bareMedian = median(bareMs);
  const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
  report.note(`bare node:http first 200 (ms): ${list(bareMs)}`);
  report.note(`embedded healthz (ms): ${list(embedded.map((r) => r.healthzMs))}; readyz: ${list(embedded.map((r) => r.readyzMs!))}`);
  report.note(`PostgreSQL healthz (ms): ${list(onPostgres.map((r) => r.healthzMs))}; readyz: ${list(onPostgres.map((r) => r.readyzMs!))}`);
  report.note(`PostgreSQL via postgres.js healthz (ms): ${list(onPostgresJs.map((r) => r.healthzMs))}; readyz: ${list(onPostgresJs.map((r) => r.readyzMs!))}`);
  const bareName = `bare node:http, spawn → first 200 (median of ${STARTS_EMBEDDED})`;
  report.table('Start-up (node dist/cli.js serve, data already migrated; healthz polled every 2 ms, then readyz every 10 ms; SIGTERM after each)', [
    timeRow(`spawn → /v1/healthz 200, embedded (median of ${STARTS_EMBEDDED})`, median(embedded.map((r) => r.healthzMs)), bareName, bareMedian, { maxMs: 200, strictlyBelow: true }),
    timeRow(`spawn → /v1/readyz 200, embedded (median of ${STARTS_EMBEDDED})`, median(embedded.map((r) => r.readyzMs!)), bareName, bareMedian, { maxMs: 500 }),
    timeRow(`spawn → /v1/healthz 200, PostgreSQL (median of ${STARTS_POSTGRES})`, median(onPostgres.map((r) => r.healthzMs)), bareName, bareMedian),
    timeRow(`spawn → /v1/readyz 200, PostgreSQL (median of ${STARTS_POSTGRES})`, median(onPostgres.map((r) => r.readyzMs!)), bareName, bareMedian),
    timeRow(`spawn → /v1/readyz 200, PostgreSQL, DATABASE_DRIVER=postgres.js (median of ${STARTS_POSTGRES})`, median(onPostgresJs.map((r) => r.readyzMs!)), bareName, bareMedian),
  ]);
}

async function healthzThroughput(dataDir: string, bare: string, databaseUrl: string): Promise<void> {
  const [ggscale, quiet, baseline] = await Promise.all([
    pool.start({ args: ['dist/cli.js', 'serve'], env: { GGSCALE_DATA_DIR: dataDir } }),
    // The same server logging only warnings (healthz touches no database, so which one does not matter).
    pool.start({ args: ['dist/cli.js', 'serve'], env: { DATABASE_URL: databaseUrl, GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, LOG_LEVEL: 'warn' } }),
    pool.start({ args: [bare] }),
  ]);
  await Promise.all([waitForStatus(ggscale, '/v1/readyz', 200, 30_000, 20), waitForStatus(quiet, '/v1/readyz', 200, 30_000, 20), waitForStatus(baseline, '/v1/healthz')]);
  const target = (url: string) => ({ url: url + '/v1/healthz', connections: 64, pipelining: 1, seconds: HEALTHZ_SECONDS, warmupSeconds: 1 });
  const results = await alternate(HEALTHZ_ROUNDS, { bare: target(baseline.url), ggscale: target(ggscale.url), quiet: target(quiet.url) });
  const bareName = 'bare node:http /v1/healthz';
  report.table(`GET /v1/healthz, autocannon 64 connections, pipelining 1, ${HEALTHZ_ROUNDS}×${HEALTHZ_SECONDS} s alternating (separate processes)`, [
    throughputRow('ggscale /v1/healthz (LOG_LEVEL=info, the default)', results.ggscale.rps, bareName, results.bare.rps, { minRatio: 0.8 }),
    infoRow('  p99 latency', fmt.ms(results.ggscale.p99Ms), bareName + ' p99', fmt.ms(results.bare.p99Ms), fmt.ratio(results.ggscale.p99Ms / results.bare.p99Ms)),
    throughputRow('ggscale /v1/healthz, LOG_LEVEL=warn (for the diagnosis)', results.quiet.rps, bareName, results.bare.rps),
    infoRow('  p99 latency', fmt.ms(results.quiet.p99Ms), bareName + ' p99', fmt.ms(results.bare.p99Ms), fmt.ratio(results.quiet.p99Ms / results.bare.p99Ms)),
  ]);
  await Promise.all([ggscale, quiet, baseline].map((server) => pool.stop(server)));
}

/** The cost per read a round measured: the database server's backends, and a ggscale process (ns each). */
function costProbe(cpu: BackendCpu, processCpu: () => number): RoundProbe {
  return {
    start: async () => ({ server: cpu.available ? await cpu.sample() : undefined, process: processCpu() }),
    stop: async (started): Promise<Record<string, number>> => {
      const before = started as { server: Map<number, number> | undefined; process: number };
      const processNs = processCpu() - before.process;
      return before.server ? { server: BackendCpu.used(before.server, await cpu.sample()), process: processNs } : { process: processNs };
    },
  };
}

const ownCpuNs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
};

/** A per-read cost beside the plain select's (lower is better). */
function costRow(figure: string, valueNs: number | undefined, baseline: string, baselineNs: number | undefined): Row {
  const us = (ns: number | undefined) => (ns === undefined || !Number.isFinite(ns) ? 'n/a' : `${(ns / 1000).toFixed(1)} µs`);
  const ratio = valueNs !== undefined && baselineNs !== undefined ? fmt.ratio(valueNs / baselineNs) : '—';
  return infoRow(figure, us(valueNs), baseline, us(baselineNs), ratio);
}

async function isolationCost(database: BenchDatabase): Promise<void> {
  const poolSize = 10; // DB_POOL_SIZE's default, on every side
  const databaseUrl = database.url;
  const dbs: Record<DatabaseDriver, Database> = {
    wire: await openPostgres('wire', { url: databaseUrl, poolSize, statementTimeoutMs: 5_000 }),
    'postgres.js': await openPostgres('postgres.js', { url: databaseUrl, poolSize, statementTimeoutMs: 5_000 }),
  };
  // The baseline: the same select on a pool of our own client, as the login role: no transaction, no scope.
  const plainPool = openPool(databaseUrl, poolSize, 5_000, 'ggscale-bench-plain');
  const plain = async (text: string, params: string[]) => {
    const lease = await plainPool.acquire();
    try {
      return await lease.query(text, params);
    } finally {
      lease.release();
    }
  };
  // For context only: the plain select through postgres.js's own pool.
  const postgresJs = postgres(databaseUrl, { max: poolSize, connection: { statement_timeout: 5_000 }, onnotice: () => undefined, types: {} });
  const cpu = await BackendCpu.open(databaseUrl, database.name);
  try {
    // Another tenant's players share the table and the index, as in production.
    const other = await seedPlayers(dbs.wire, 'bench-other', SEEDED_PLAYERS);
    const seeded = await seedPlayers(dbs.wire, 'bench-target', SEEDED_PLAYERS);
    const scope = { tenantId: seeded.tenantId, projectId: seeded.projectId };
    const randomId = () => String(seeded.firstPlayerId + Math.floor(Math.random() * (seeded.lastPlayerId - seeded.firstPlayerId + 1)));
    // The policy really applies on both clients: another tenant's player is invisible through tenantQuery, visible plainly.
    const otherId = String(other.firstPlayerId);
    for (const [name, db] of Object.entries(dbs)) {
      if ((await db.tenantQuery(scope, PLAYER_BY_ID_SQL, [otherId])).length !== 0) throw new Error(`RLS did not hide another tenant (${name})`);
      if ((await db.tenantQuery(scope, PLAYER_BY_ID_SQL, [String(seeded.firstPlayerId)])).length !== 1) throw new Error(`the tenant's own player is not visible (${name})`);
    }
    if ((await plain(PLAYER_BY_ID_SQL, [otherId])).length !== 1) throw new Error('the plain select did not see the row');
    if (!cpu.available) report.note('server CPU per read: n/a (the database server is not on this machine, or /proc is not readable)');

    const driver = await driveAlternating(
      ISOLATION_ROUNDS,
      ISOLATION_SECONDS,
      ISOLATION_CALLERS,
      {
        plain: () => plain(PLAYER_BY_ID_SQL, [randomId()]),
        wire: () => dbs.wire.tenantQuery(scope, PLAYER_BY_ID_SQL, [randomId()]),
        postgresJsDriver: () => dbs['postgres.js'].tenantQuery(scope, PLAYER_BY_ID_SQL, [randomId()]),
        postgresJsPlain: () => postgresJs.unsafe(PLAYER_BY_ID_SQL, [randomId()], { prepare: true }).execute(),
      },
      1,
      costProbe(cpu, ownCpuNs),
    );

    const servers = {} as Record<DatabaseDriver, ServerProcess>;
    for (const name of DRIVERS) {
      servers[name] = await pool.start({
        args: ['--import', 'tsx', 'bench/support/bench-server.ts'],
        env: {
          DATABASE_URL: databaseUrl,
          DATABASE_DRIVER: name,
          GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
          DB_POOL_SIZE: String(poolSize),
          BENCH_ROUTES: 'isolation',
          BENCH_TENANT_ID: seeded.tenantId,
          BENCH_PROJECT_ID: seeded.projectId,
        },
      });
      await waitForStatus(servers[name], '/v1/readyz', 200, 60_000, 20);
    }
    const route = (server: ServerProcess, name: string) => ({
      url: `${server.url}/bench/${name}/${seeded.firstPlayerId}`,
      connections: ISOLATION_CALLERS,
      seconds: ISOLATION_SECONDS,
      warmupSeconds: 1,
      setupRequest: (request: { path?: string }) => ({ ...request, path: `/bench/${name}/${randomId()}` }),
    });
    const serverProbe = (server: ServerProcess) => costProbe(cpu, () => processCpuNs(server.child.pid!));
    const http = await alternate(
      ISOLATION_ROUNDS,
      { plain: route(servers.wire, 'plain'), wire: route(servers.wire, 'isolated'), postgresJsDriver: route(servers['postgres.js'], 'isolated') },
      { plain: serverProbe(servers.wire), wire: serverProbe(servers.wire), postgresJsDriver: serverProbe(servers['postgres.js']) },
    );
    for (const name of DRIVERS) await pool.stop(servers[name]);

    const plainName = 'plain select, our client, same pool size';
    const driverRows: Row[] = [];
    for (const [key, label] of [
      ['wire', 'wire (ours): scope + select, one Sync'],
      ['postgresJsDriver', 'postgres.js: BEGIN, scope, select, COMMIT in one write'],
    ] as const) {
      const result = driver[key];
      driverRows.push(
        throughputRow(`db.tenantQuery, ${label}, ${ISOLATION_CALLERS} callers`, result.opsPerSecond, plainName, driver.plain.opsPerSecond, key === 'wire' ? { maxOverhead: 0.25 } : {}, 'queries/s'),
        infoRow('  p50 / p99 latency', `${fmt.ms(result.p50Ms)} / ${fmt.ms(result.p99Ms)}`, 'plain p50 / p99', `${fmt.ms(driver.plain.p50Ms)} / ${fmt.ms(driver.plain.p99Ms)}`),
        costRow('  PostgreSQL backend CPU per read', result.perOp?.server, 'plain select', driver.plain.perOp?.server),
        costRow('  this process CPU per read (client + load loop)', result.perOp?.process, 'plain select', driver.plain.perOp?.process),
      );
    }
    driverRows.push(
      throughputRow('db.tenantQuery, postgres.js beside wire', driver.postgresJsDriver.opsPerSecond, 'db.tenantQuery, wire', driver.wire.opsPerSecond, {}, 'queries/s'),
      infoRow('  for context: plain prepared select via postgres.js', fmt.perSecond(driver.postgresJsPlain.opsPerSecond, 'queries'), plainName, fmt.perSecond(driver.plain.opsPerSecond, 'queries'), fmt.ratio(driver.postgresJsPlain.opsPerSecond / driver.plain.opsPerSecond)),
    );
    report.table(
      `Cost of isolation in-process, through Database.tenantQuery: '${PLAYER_BY_ID_SQL}' by primary key, ${SEEDED_PLAYERS} players per tenant × 2 tenants, pool ${poolSize}, ${ISOLATION_ROUNDS}×${ISOLATION_SECONDS} s alternating`,
      driverRows,
    );

    const httpPlain = 'GET /bench/plain/:id (our client, no scope), same kind of server';
    const httpRows: Row[] = [];
    for (const [key, label] of [
      ['wire', 'DATABASE_DRIVER=wire'],
      ['postgresJsDriver', 'DATABASE_DRIVER=postgres.js'],
    ] as const) {
      const result = http[key];
      httpRows.push(
        throughputRow(`GET /bench/isolated/:id, ${label}, ${ISOLATION_CALLERS} connections`, result.rps, httpPlain, http.plain.rps, key === 'wire' ? { maxOverhead: 0.25 } : {}),
        infoRow('  p50 / p99 latency', `${fmt.ms(result.p50Ms)} / ${fmt.ms(result.p99Ms)}`, 'plain p50 / p99', `${fmt.ms(http.plain.p50Ms)} / ${fmt.ms(http.plain.p99Ms)}`),
        costRow('  PostgreSQL backend CPU per request', result.perOp?.server, 'plain', http.plain.perOp?.server),
        costRow('  ggscale server process CPU per request', result.perOp?.process, 'plain', http.plain.perOp?.process),
      );
    }
    httpRows.push(throughputRow('GET /bench/isolated/:id, postgres.js beside wire', http.postgresJsDriver.rps, 'the same, DATABASE_DRIVER=wire', http.wire.rps));
    report.table(`Cost of isolation end to end over HTTP (bench server, autocannon), ${ISOLATION_ROUNDS}×${ISOLATION_SECONDS} s alternating`, httpRows);
    report.note(
      'Server cost: CPU time of the database\'s client backends (/proc/<pid>/schedstat), summed over a round and divided by its reads; ' +
        'the ggscale process CPU is /proc/<pid>/stat (HTTP) or process.cpuUsage() (in-process, which includes the load loop itself).',
    );
  } finally {
    await plainPool.close(5);
    await postgresJs.end({ timeout: 5 });
    await cpu.close();
    for (const db of Object.values(dbs)) await db.close();
  }
}

async function main(): Promise<void> {
  report.note('building dist/cli.js (npm run build) and the bare baseline ...');
  buildGgscale();
  const bare = await buildBareServer(scratch);
  const database = await createBenchDatabase();
  const dataDir = join(scratch, 'data');
  try {
    if (SECTIONS.includes('startup')) await startUp(dataDir, bare, database.url);
    if (SECTIONS.includes('healthz')) await healthzThroughput(dataDir, bare, database.url);
    if (SECTIONS.includes('isolation')) await isolationCost(database);
  } finally {
    await pool.stopAll();
    await database.drop();
    rmSync(scratch, { recursive: true, force: true });
  }
  report.finish();
}

runBench(main, pool, () => rmSync(scratch, { recursive: true, force: true }));
