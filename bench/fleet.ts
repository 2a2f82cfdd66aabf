/**
 * Fleet allocation latency on the local backend (the built server, `node dist/cli.js serve`, with the echo
 * game server it ships), over HTTP as a studio's server would call it, each figure beside a baseline
 * measured in the same run:
 *  1. warm: allocations within the warm buffer (FLEET_LOCAL_BUFFER=2), p50/p99, beside an authenticated
 *     database read on the same server (GET /v1/fleet/allocations/{id}); target p99 ≤ 50 ms;
 *  2. cold: bursts of twice the buffer (4 at once: 2 warm, 2 that must start a server), p50/p99, beside one
 *     echo-server process start to Ready measured alone; target p99 ≤ 1 s.
 * Each round starts once the buffer is full and has been for SETTLE_MS (warm servers are not mid-start).
 * Context: Agones batches allocation requests every 500 ms, so its allocations take up to ~0.5 s warm.
 * Both databases: embedded (PGlite, what a fresh `npm start` uses) and PostgreSQL (BENCH_DATABASE_URL).
 * Run: node --import tsx bench/fleet.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ADMIN_TOKEN, call, createProject, type BenchProject } from './support/api.js';
import { buildGgscale } from './support/build.js';
import { createBenchDatabase } from './support/pg.js';
import { ROOT, ServerPool, waitForStatus, type ServerProcess } from './support/process.js';
import { Report, fmt, infoRow, median, timeRow } from './support/table.js';
import { runBench } from './support/run-bench.js';

const BUFFER = 2;
const WARM_ROUNDS = 40; // × BUFFER sequential allocations
const COLD_ROUNDS = 20; // × 2·BUFFER concurrent allocations
const READS = 200;
const STARTS = 10;
const AGONES_BATCH_MS = 500;
const SETTLE_MS = 250;

const report = new Report('fleet');
const pool = new ServerPool();

interface Allocation {
  id: string;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function readyServers(server: ServerProcess): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('ggscale_fleet_ready_game_servers{'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/**
 * Until the buffer is full, then a moment more: a warm server has been Ready for a while, not for a
 * millisecond (a just-started one still takes a core to finish its start, which is the cold case).
 */
async function waitWarm(server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await readyServers(server)) < BUFFER) {
    if (Date.now() > deadline) throw new Error('the warm buffer did not fill within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/** One echo-server process (as the local backend starts it) from spawn to its first SDK Ready call. */
async function startToReady(port: number): Promise<number> {
  let readyAt = 0;
  const sdk = http.createServer((req, res) => {
    if (req.url === '/ready' && readyAt === 0) readyAt = performance.now();
    res.end('{}');
  });
  await new Promise<void>((resolve) => sdk.listen(0, '127.0.0.1', resolve));
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'gameserver', '--port', String(port)], {
    env: { PATH: process.env.PATH ?? '', AGONES_SDK_HTTP_PORT: String((sdk.address() as AddressInfo).port) },
    stdio: 'ignore',
  });
  while (readyAt === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  sdk.close();
  return readyAt - started;
}

async function measure(label: string, env: Record<string, string>, starts: number[]): Promise<void> {
  const server = await pool.start({
    args: ['dist/cli.js', 'serve'],
    env: {
      GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      FLEET_LOCAL_BUFFER: String(BUFFER),
      FLEET_LOCAL_PORT_RANGE: '28000-28999',
      SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  try {
    await waitForStatus(server, '/v1/readyz', 200, 60_000);
    const project: BenchProject = await createProject(server.url, `fleet-bench-${Date.now()}`);
    // Only the benchmark's fleet keeps servers warm (the default fleet would double the buffer).
    await call(server.url, 'DELETE', `/v1/admin/projects/${project.projectId}/fleets/default`, BENCH_ADMIN_TOKEN);
    await call(server.url, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, BENCH_ADMIN_TOKEN, { name: 'bench', backend: 'local', max_allocations: 1000 });
    const allocate = () => call<Allocation>(server.url, 'POST', '/v1/fleet/allocations', project.secretKey, { fleet: 'bench' });
    const release = (id: string) => call(server.url, 'DELETE', `/v1/fleet/allocations/${id}`, project.secretKey);

    const warm: number[] = [];
    const releases: number[] = [];
    for (let round = 0; round < WARM_ROUNDS; round++) {
      await waitWarm(server);
      const taken: Allocation[] = [];
      for (let i = 0; i < BUFFER; i++) {
        const { ms, value } = await timed(allocate);
        warm.push(ms);
        taken.push(value);
      }
      for (const { id } of taken) releases.push((await timed(() => release(id))).ms);
    }

    const cold: number[] = [];
    for (let round = 0; round < COLD_ROUNDS; round++) {
      await waitWarm(server);
      const burst = await Promise.all(Array.from({ length: 2 * BUFFER }, () => timed(allocate)));
      cold.push(...burst.map((b) => b.ms));
      await Promise.all(burst.map((b) => release(b.value.id)));
    }

    const probe = await allocate();
    const reads: number[] = [];
    for (let i = 0; i < READS; i++) reads.push((await timed(() => call(server.url, 'GET', `/v1/fleet/allocations/${probe.id}`, project.secretKey))).ms);
    await release(probe.id);

    const read = { p50: percentile(reads, 50), p99: percentile(reads, 99) };
    const start = median(starts);
    report.table(`${label}: allocation latency, local backend, buffer ${BUFFER} (${warm.length} warm, ${cold.length} in bursts of ${2 * BUFFER})`, [
      timeRow('warm allocation p50', percentile(warm, 50), 'authenticated read p50', read.p50),
      timeRow('warm allocation p99', percentile(warm, 99), 'authenticated read p99', read.p99, { maxMs: 50 }),
      timeRow('cold burst allocation p50', percentile(cold, 50), 'echo server start → Ready (median)', start),
      timeRow('cold burst allocation p99', percentile(cold, 99), 'echo server start → Ready (median)', start, { maxMs: 1000 }),
      infoRow('release (DELETE) p50 / p99', `${fmt.ms(percentile(releases, 50))} / ${fmt.ms(percentile(releases, 99))}`, '—', '—'),
      timeRow('context: warm allocation p99', percentile(warm, 99), 'Agones allocation batch interval', AGONES_BATCH_MS),
    ]);
  } finally {
    await pool.stop(server);
  }
}

async function main(): Promise<void> {
  buildGgscale();
  const starts: number[] = [];
  for (let i = 0; i < STARTS; i++) starts.push(await startToReady(28999 - i));
  const dataDir = mkdtempSync(join(tmpdir(), 'ggscale-fleet-bench-'));
  const database = await createBenchDatabase();
  try {
    await measure('embedded (PGlite)', { GGSCALE_DATA_DIR: dataDir }, starts);
    await measure('PostgreSQL', { DATABASE_URL: database.url, GGSCALE_DATA_DIR: dataDir }, starts);
  } finally {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  report.finish();
}

runBench(main, pool);
