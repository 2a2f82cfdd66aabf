/**
 * What usage metering costs, each figure beside a baseline measured in the same run:
 *  1. request path: authenticated storage GET (a 256-byte object, player token) in req/s on a server with
 *     metering on beside the same server with USAGE_METERING=false, on one throwaway PostgreSQL database, in
 *     alternating rounds (median of --rounds, default 3) so drift on the shared machine falls on both alike
 *     (target: metering on at most 3 % slower);
 *  2. flush: one flush's batch of --counters distinct (tenant, project, meter, hour) counters (default 100,000:
 *     1,000 projects × 2 meters × 50 hours) applied by UsageStore.apply, the flusher's one transaction
 *     (target ≤ 1 s), beside the same rows written by one plain insert … select into an unlogged table of the
 *     same shape (the database's own speed for that many rows).
 *
 * Run: node --import tsx bench/usage.ts [--rounds=3] [--seconds=8] [--counters=100000]
 */
import { randomUUID } from 'node:crypto';
import { PostgresDatabase } from '../src/internal/db/postgres.js';
import { UsageStore } from '../src/modules/usage/usage-store.js';
import type { CountRow } from '../src/modules/usage/usage-counters.js';
import { BENCH_ADMIN_TOKEN, createProject, deviceSignIn } from './support/api.js';
import { alternate } from './support/load.js';
import { createBenchDatabase } from './support/pg.js';
import { ServerPool, waitForStatus } from './support/process.js';
import { Report, fmt, infoRow, throughputRow, timeRow } from './support/table.js';
import { runBench } from './support/run-bench.js';

const flag = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
};
const ROUNDS = flag('rounds', 3);
const SECONDS = flag('seconds', 8);
const COUNTERS = flag('counters', 100_000);
const CONNECTIONS = 32;
const SLOWDOWN_TARGET = 0.97;
const FLUSH_TARGET_MS = 1_000;
const HOURS = 50;
const METERS = ['requests', 'messages'] as const;
const UNLIMITED = '100000000';

const report = new Report('usage');
const pool = new ServerPool();

async function requestPath(databaseUrl: string): Promise<void> {
  const env = (metering: boolean) => ({
    DATABASE_URL: databaseUrl,
    GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    USAGE_METERING: String(metering),
    // Nothing may be refused: a figure built on 429s would measure the limiter.
    RATE_LIMIT_PER_MIN: UNLIMITED,
    AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
    PROJECT_AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
  });
  const on = await pool.start({ args: ['--import', 'tsx', 'bench/support/bench-server.ts'], env: env(true) });
  const off = await pool.start({ args: ['--import', 'tsx', 'bench/support/bench-server.ts'], env: env(false) });
  await waitForStatus(on, '/v1/readyz', 200, 60_000, 20);
  await waitForStatus(off, '/v1/readyz', 200, 60_000, 20);
  const project = await createProject(on.url, 'bench-usage');
  const token = (await deviceSignIn(on.url, project, 'bench-usage-device-0123456789')).access_token;
  const headers = { authorization: `Bearer ${token}` };
  const put = await fetch(`${on.url}/v1/storage/bench/object`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: 'x'.repeat(256) });
  if (put.status !== 200 && put.status !== 201) throw new Error(`PUT of the benchmark object: ${put.status} ${await put.text()}`);

  const target = (url: string) => ({ url: `${url}/v1/storage/bench/object`, headers, connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: 2 });
  const results = await alternate(ROUNDS, { on: target(on.url), off: target(off.url) });
  report.table(
    `request path: GET /v1/storage/bench/object, player token, autocannon ${CONNECTIONS} connections, ${SECONDS} s × ${ROUNDS} alternating rounds (median)`,
    [
      throughputRow('metering on (USAGE_METERING=true, the default)', results.on.rps, 'metering off (USAGE_METERING=false)', results.off.rps, { minRatio: SLOWDOWN_TARGET }),
      infoRow('  p50 / p99, metering on', `${fmt.ms(results.on.p50Ms)} / ${fmt.ms(results.on.p99Ms)}`, 'metering off', `${fmt.ms(results.off.p50Ms)} / ${fmt.ms(results.off.p99Ms)}`),
    ],
  );
  await pool.stop(on);
  await pool.stop(off);
}

async function flush(databaseUrl: string): Promise<void> {
  const db = await PostgresDatabase.open({ url: databaseUrl, poolSize: 2, statementTimeoutMs: 600_000 });
  try {
    const projects = Math.ceil(COUNTERS / (METERS.length * HOURS));
    const scopes = await db.operator('bench: projects', async (tx) => {
      const [tenant] = await tx.query<{ id: string }>("insert into tenants (name) values ('bench-usage-flush') returning id");
      const rows = await tx.query<{ id: string }>("insert into projects (tenant_id, name) select $1, 'p' || g from generate_series(1, $2::int) g returning id", [tenant!.id, projects]);
      return rows.map((row) => ({ tenantId: String(tenant!.id), projectId: String(row.id) }));
    });
    // Hours ending in the past and the present, as a flush after a long pause could hold.
    const firstHour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - (HOURS - 1) * 3_600_000;
    const counts: CountRow[] = [];
    for (const scope of scopes) {
      for (const meter of METERS) {
        for (let h = 0; h < HOURS && counts.length < COUNTERS; h++) counts.push({ ...scope, meter, hour: firstHour + h * 3_600_000, value: 1 + ((h * 7) % 13) });
      }
    }
    const store = new UsageStore(db);
    // Warm: the statements' plans and the connection, on a small batch of other hours.
    await store.apply({ id: randomUUID(), counts: counts.slice(0, 100).map((row) => ({ ...row, hour: row.hour - HOURS * 3_600_000 })), players: [], peaks: [] });

    const started = performance.now();
    await store.apply({ id: randomUUID(), counts, players: [], peaks: [] });
    const flushMs = performance.now() - started;
    // The same batch again: every row now exists and is added to (the steady state of a busy node).
    const againStarted = performance.now();
    await store.apply({ id: randomUUID(), counts, players: [], peaks: [] });
    const againMs = performance.now() - againStarted;

    const baselineMs = await db.operator('bench: plain insert', async (tx) => {
      await tx.query('create unlogged table bench_usage_plain (tenant_id bigint, project_id bigint, meter text, hour timestamptz, value bigint, primary key (tenant_id, project_id, meter, hour))');
      const begun = performance.now();
      await tx.query(
        `insert into bench_usage_plain select x.tenant_id, x.project_id, x.meter, x.hour, x.value
           from jsonb_to_recordset($1::text::jsonb) as x(tenant_id bigint, project_id bigint, meter text, hour timestamptz, value bigint)`,
        [JSON.stringify(counts.map((c) => ({ tenant_id: c.tenantId, project_id: c.projectId, meter: c.meter, hour: new Date(c.hour).toISOString(), value: c.value })))],
      );
      return performance.now() - begun;
    });
    report.table(`flush: one batch of ${counts.length.toLocaleString('en')} distinct (tenant, project, meter, hour) counters (${scopes.length} projects × ${METERS.length} meters × ${HOURS} hours)`, [
      timeRow('UsageStore.apply, new rows (insert)', flushMs, 'plain insert … select of the same rows, unlogged table', baselineMs, { maxMs: FLUSH_TARGET_MS }),
      timeRow('UsageStore.apply, existing rows (add on conflict)', againMs, 'plain insert … select of the same rows, unlogged table', baselineMs, { maxMs: FLUSH_TARGET_MS }),
    ]);
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const database = await createBenchDatabase();
  try {
    await requestPath(database.url);
    await flush(database.url);
  } finally {
    await pool.stopAll();
    await database.drop();
  }
  report.finish();
}

runBench(main, pool);
