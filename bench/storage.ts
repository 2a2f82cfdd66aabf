/**
 * Storage figures beside `pgbench -S` (select-only TPC-B, the database's own read ceiling on this machine),
 * measured in the same run:
 *  1. GET /v1/storage/{collection}/{key} of a 256-byte object with a player token (target ≥ 0.15×);
 *  2. PUT of a 256-byte object by one player (all its writes take the owner's usage-row lock: they are
 *     applied one after another by design), and by 32 players at once (one per connection).
 * The app is buildApp (bench/support/bench-server.ts) on a free port, in its own process so autocannon does
 * not share its event loop, against a throwaway migrated PostgreSQL database; pgbench gets a throwaway
 * database of its own (`pgbench -i -s 10`). Same concurrency everywhere: 32 clients, ~10 s each; GET and
 * pgbench alternate for BENCH_STORAGE_ROUNDS rounds (default 2) so drift on a shared machine hits both.
 * Run: node --import tsx bench/storage.ts (needs PostgreSQL at BENCH_DATABASE_URL, default local, and pgbench).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import postgres from 'postgres';
import type { RequestSpec } from 'autocannon';
import { BENCH_ADMIN_TOKEN, createProject, deviceSignIn, type BenchProject } from './support/api.js';
import { assertClean, load, type LoadOptions, type LoadResult } from './support/load.js';
import { PG_BASE_URL, createBenchDatabase } from './support/pg.js';
import { ServerPool, waitForStatus } from './support/process.js';
import { Report, fmt, infoRow, throughputRow } from './support/table.js';
import { runBench } from './support/run-bench.js';

const CONNECTIONS = 32;
const SECONDS = Number(process.env.BENCH_STORAGE_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const OBJECT_BYTES = 256;
const UNLIMITED = '100000000';
const GET_TARGET = 0.15;
const ROUNDS = Number(process.env.BENCH_STORAGE_ROUNDS ?? 2);

const run = promisify(execFile);
const report = new Report('storage');
const pool = new ServerPool();

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + name;
  return parsed.toString();
}

/** A throwaway pgbench database (scale 10), its URL, and a way to drop it. */
async function createPgbenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ggscale_bench_pgb_${randomBytes(5).toString('hex')}`;
  const admin = postgres(PG_BASE_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const drop = async () => {
    const cleanup = postgres(PG_BASE_URL, { max: 1, onnotice: () => undefined });
    try {
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await cleanup.end();
    }
  };
  const url = withDatabase(PG_BASE_URL, name);
  try {
    await run('pgbench', ['-i', '-s', '10', '-q', url], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    await drop();
    throw error;
  }
  return { url, drop };
}

/** pgbench -S (select-only), same concurrency as the HTTP load: transactions/s. */
async function pgbenchSelectOnly(url: string): Promise<number> {
  const args = ['-S', '-n', '-c', String(CONNECTIONS), '-j', '2', '-T', String(SECONDS), url];
  const { stdout } = await run('pgbench', args, { maxBuffer: 16 * 1024 * 1024 });
  const tps = /tps = ([0-9.]+) \(without initial connection time\)/.exec(stdout) ?? /tps = ([0-9.]+)/.exec(stdout);
  if (!tps) throw new Error(`pgbench: no tps in its output:\n${stdout}`);
  return Number(tps[1]);
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

async function signInPlayers(baseUrl: string, project: BenchProject, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await deviceSignIn(baseUrl, project, `bench-storage-device-${i}-0123456789`)).access_token);
  return tokens;
}

async function main(): Promise<void> {
  const database = await createBenchDatabase();
  try {
    const server = await pool.start({
      args: ['--import', 'tsx', 'bench/support/bench-server.ts'],
      env: {
        DATABASE_URL: database.url,
        GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        // Nothing may be refused: a figure built on 429s would measure the limiter, not storage.
        RATE_LIMIT_PER_MIN: UNLIMITED,
        AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
        PROJECT_AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
      },
    });
    await waitForStatus(server, '/v1/readyz', 200, 60_000, 20);
    const project = await createProject(server.url, 'bench-storage');
    const [player, ...others] = await signInPlayers(server.url, project, CONNECTIONS);
    const body = 'x'.repeat(OBJECT_BYTES);
    const headers = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' });
    const url = `${server.url}/v1/storage/bench/object`;
    const put = await fetch(url, { method: 'PUT', headers: headers(player!), body });
    if (put.status !== 200 && put.status !== 201) throw new Error(`PUT of the benchmark object: ${put.status} ${await put.text()}`);

    const measure = async (name: string, options: LoadOptions, warmupSeconds = WARMUP_SECONDS) => {
      const result = await load({ connections: CONNECTIONS, seconds: SECONDS, warmupSeconds, ...options });
      assertClean(name, result);
      return result;
    };
    // GET and its baseline in alternating rounds, so drift on a shared machine falls on both alike.
    const pgbenchDb = await createPgbenchDatabase();
    const pgbenchRuns: number[] = [];
    const getRuns: LoadResult[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        report.note(`round ${round + 1}/${ROUNDS}: pgbench -S -c ${CONNECTIONS} -j 2 -T ${SECONDS} (scale 10), then GET ...`);
        pgbenchRuns.push(await pgbenchSelectOnly(pgbenchDb.url));
        getRuns.push(await measure('GET', { url, headers: { authorization: `Bearer ${player!}` } }, round === 0 ? WARMUP_SECONDS : 0));
      }
    } finally {
      await pgbenchDb.drop();
    }
    const pgbench = mean(pgbenchRuns);
    const get = { rps: mean(getRuns.map((r) => r.rps)), p50Ms: mean(getRuns.map((r) => r.p50Ms)), p99Ms: mean(getRuns.map((r) => r.p99Ms)) };
    report.note(`pgbench -S tps per round: ${pgbenchRuns.map((v) => v.toFixed(0)).join(', ')}; GET req/s per round: ${getRuns.map((r) => r.rps.toFixed(0)).join(', ')}`);
    // For the diagnosis: the simplest player route that reads the database (one tenantQuery by primary key).
    const me = await measure('GET /v1/auth/me', { url: `${server.url}/v1/auth/me`, headers: { authorization: `Bearer ${player!}` } }, 0);
    const putOne = await measure('PUT, one player', { url, method: 'PUT', headers: headers(player!), body });
    // One player per connection (autocannon's context is per connection), each replacing its own object.
    const tokens = [player!, ...others];
    let next = 0;
    const perConnection = (request: RequestSpec, context?: Record<string, unknown>): RequestSpec => {
      context!.token ??= tokens[next++ % tokens.length];
      return { ...request, headers: headers(context!.token as string) };
    };
    const putMany = await measure('PUT, 32 players', { url, method: 'PUT', headers: headers(player!), body, setupRequest: perConnection });

    const baseline = `pgbench -S, ${CONNECTIONS} clients (select-only tps)`;
    report.table(
      `Storage over HTTP (buildApp in its own process, PostgreSQL, player token, ${OBJECT_BYTES}-byte object, autocannon ${CONNECTIONS} connections, ${SECONDS} s each; GET and pgbench -S: mean of ${ROUNDS} alternating rounds) beside pgbench -S`,
      [
        throughputRow(`GET /v1/storage/bench/object`, get.rps, baseline, pgbench, { minRatio: GET_TARGET }),
        infoRow('  GET p50 / p99 latency', `${fmt.ms(get.p50Ms)} / ${fmt.ms(get.p99Ms)}`, '—', '—'),
        throughputRow('  (diagnosis) GET /v1/auth/me: one tenantQuery select, same token', me.rps, baseline, pgbench),
        infoRow('  (diagnosis) storage GET / auth/me', fmt.ratio(get.rps / me.rps), '—', '—'),
        throughputRow('PUT (replace), one player: writes of one owner are serialised', putOne.rps, baseline, pgbench),
        infoRow('  PUT one player p50 / p99', `${fmt.ms(putOne.p50Ms)} / ${fmt.ms(putOne.p99Ms)}`, '—', '—'),
        throughputRow(`PUT (replace), ${CONNECTIONS} players, one per connection`, putMany.rps, baseline, pgbench),
        infoRow(`  PUT ${CONNECTIONS} players p50 / p99`, `${fmt.ms(putMany.p50Ms)} / ${fmt.ms(putMany.p99Ms)}`, '—', '—'),
      ],
    );
    await pool.stop(server);
  } finally {
    await pool.stopAll();
    await database.drop();
  }
  report.finish();
}

runBench(main, pool);
