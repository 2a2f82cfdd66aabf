/**
 * Leaderboards at scale: boards of N records seeded in bulk straight into PostgreSQL (insert … select
 * generate_series, not through the API) on a throwaway database, then over HTTP at 32 concurrent clients,
 * while ~1,000 submits/s run beside them:
 *   - rank of one player (GET /v1/leaderboards/{id}/scores/{player_id}) and the top 100, p50/p99, beside a
 *     bare node:http server's p50/p99 at the same concurrency. Twice: closed loop (32 callers as fast as
 *     they can: the latency is mostly the queue at saturation, 32 / throughput) and open loop at a fixed
 *     --read-rate across the same 32 connections (the service time at that load);
 *   - submits/s (POST …/scores at full speed) beside `redis-benchmark -t zadd`, as a ratio;
 *   - the rank index's own build time and in-process rank latency (no HTTP, no Postgres).
 * for both rank indexes (CACHE_BACKEND=memory and redis).
 *
 * Run: node --import tsx bench/leaderboards.ts [--sizes=100000] [--backends=memory,redis] [--seconds=5] [--writes=1000] [--read-rate=2000]
 *   --sizes=1000000,10000000 for the figures (10M takes minutes to seed and ~2 GB of RAM per index).
 * Targets: rank-of-player p99 ≤ 2 ms at 1M, ≤ 5 ms at 10M.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon, { type RequestSpec } from 'autocannon';
import { Redis } from 'ioredis';
import { PostgresDatabase } from '../src/internal/db/postgres.js';
import { MemoryRankIndex } from '../src/modules/leaderboards/memory-rank-index.js';
import type { BoardPeriod } from '../src/modules/leaderboards/rank-index.js';
import { RecordStore } from '../src/modules/leaderboards/record-store.js';
import { BENCH_ADMIN_TOKEN, call } from './support/api.js';
import { drive } from './support/drive.js';
import { load, type LoadResult } from './support/load.js';
import { createBenchDatabase } from './support/pg.js';
import { ServerPool, waitForStatus, type ServerProcess } from './support/process.js';
import { Report, fmt, infoRow, throughputRow, timeRow } from './support/table.js';
import { runBench } from './support/run-bench.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONNECTIONS = 32;
const BOARD = 'bench';

function flag(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const inline = args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const index = args.indexOf(`--${name}`);
  return inline ?? (index >= 0 ? args[index + 1] : undefined) ?? fallback;
}

const sizes = flag('sizes', '100000').split(',').map((s) => Number(s.replace(/_/g, '')));
const backends = flag('backends', 'memory,redis').split(',') as ('memory' | 'redis')[];
const seconds = Number(flag('seconds', '5'));
const writesPerSecond = Number(flag('writes', '1000'));
const readRate = Number(flag('read-rate', '2000'));
if (sizes.some((n) => !Number.isInteger(n) || n < 1_000) || backends.some((b) => b !== 'memory' && b !== 'redis')) {
  throw new Error('--sizes: integers ≥ 1000; --backends: memory and/or redis');
}

const report = new Report('leaderboards');
const pool = new ServerPool();
const runId = randomBytes(4).toString('hex');

interface Seeded {
  tenantId: string;
  projectId: string;
  boardUid: string;
  firstPlayer: number;
  lastPlayer: number;
}

/** N players and N records of one board, in bulk, through the owner connection (no API, no RLS cost). */
async function seed(url: string, size: number): Promise<Seeded> {
  const db = await PostgresDatabase.open({ url, poolSize: 1, statementTimeoutMs: 3_600_000 });
  try {
    return await db.operator('bench seed', async (tx) => {
      const [tenant] = await tx.query<{ id: string }>('insert into tenants (name) values ($1) returning id', [`bench-lb-${runId}`]);
      const [project] = await tx.query<{ id: string }>('insert into projects (tenant_id, name) values ($1, $2) returning id', [tenant!.id, 'bench']);
      const scope = [tenant!.id, project!.id];
      const [range] = await tx.query<{ first: string; last: string }>(
        `with made as (insert into players (tenant_id, project_id) select $1, $2 from generate_series(1, $3::int) returning id)
         select min(id) as first, max(id) as last from made`,
        [...scope, size],
      );
      const [board] = await tx.query<{ uid: string }>(
        `insert into leaderboards (tenant_id, project_id, id, sort, operator) values ($1, $2, $3, 'desc', 'best') returning uid`,
        [...scope, BOARD],
      );
      // Scores spread over ~1M values (so ties happen, as in games); seq in player order.
      await tx.query(
        `insert into leaderboard_records (tenant_id, project_id, board_uid, period, player_id, score, subscore, seq)
         select $1, $2, $3, 0, id, (id * 7919) % 1000003, id % 7, nextval('leaderboard_record_seq')
           from players where tenant_id = $1 and project_id = $2`,
        [...scope, board!.uid],
      );
      return { tenantId: tenant!.id, projectId: project!.id, boardUid: String(board!.uid), firstPlayer: Number(range!.first), lastPlayer: Number(range!.last) };
    });
  } finally {
    await db.close();
  }
}

async function analyze(url: string): Promise<void> {
  const db = await PostgresDatabase.open({ url, poolSize: 1, statementTimeoutMs: 3_600_000 });
  try {
    await db.operator('bench analyze', (tx) => tx.query('analyze'));
  } finally {
    await db.close();
  }
}

/** The rank index alone, in this process: build from Postgres, then rank-of-player latency. */
async function inProcessIndex(url: string, seeded: Seeded, size: number) {
  const db = await PostgresDatabase.open({ url, poolSize: 2, statementTimeoutMs: 600_000 });
  const records = new RecordStore(db);
  const index = new MemoryRankIndex({ source: (b, after, limit) => records.scan(b, b.boardUid, b.period, after, limit) });
  const board: BoardPeriod = { tenantId: seeded.tenantId, projectId: seeded.projectId, boardUid: seeded.boardUid, period: '0', descending: true };
  try {
    const started = performance.now();
    await index.size(board);
    const buildMs = performance.now() - started;
    const player = () => String(seeded.firstPlayer + Math.floor(Math.random() * size));
    const ranks = await drive(1, 2, () => index.rankOf(board, player()));
    return { buildMs, ranks };
  } finally {
    await index.close();
    await db.close();
  }
}

const randomPlayer = (seeded: Seeded) => seeded.firstPlayer + Math.floor(Math.random() * (seeded.lastPlayer - seeded.firstPlayer + 1));

async function measureBackend(backend: 'memory' | 'redis', url: string, seeded: Seeded, size: number, secretKey: string | undefined) {
  const server = await pool.start({
    args: ['--import', 'tsx', 'bench/support/bench-server.ts'],
    env: {
      DATABASE_URL: url,
      GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      CACHE_BACKEND: backend,
      REDIS_URL,
      BENCH_CACHE_PREFIX: `ggscale-bench-${runId}:`,
      LEADERBOARD_REDIS_KEY_PREFIX: `ggscale-bench-${runId}:`,
      // Nothing here may be refused for budget: the figures are the leaderboard's.
      SECRET_KEY_RATE_LIMIT_PER_MIN: '0',
      LEADERBOARD_REBUILD_WAIT_MS: '600000',
      REQUEST_TIMEOUT_MS: '600000',
      STATEMENT_TIMEOUT_MS: '600000',
    },
  });
  await waitForStatus(server, '/v1/readyz', 200, 120_000, 20);
  const key = secretKey ?? (await call<{ key: string }>(server.url, 'POST', `/v1/admin/projects/${seeded.projectId}/api-keys`, BENCH_ADMIN_TOKEN, { kind: 'secret', name: 'bench' })).key;
  const headers = { authorization: `Bearer ${key}` };
  const base = `${server.url}/v1/leaderboards/${BOARD}/scores`;

  // The first rank request builds the index from Postgres (cold): how long a node needs after a restart.
  const coldStarted = performance.now();
  await call(server.url, 'GET', `/v1/leaderboards/${BOARD}/scores/${seeded.firstPlayer}`, key);
  const coldMs = performance.now() - coldStarted;

  const writer = startWriter(server, key, seeded, 4 * (seconds + 1) + 2);
  const rankRequests = {
    url: `${base}/${seeded.firstPlayer}`,
    connections: CONNECTIONS,
    seconds,
    headers,
    setupRequest: (request: RequestSpec) => ({ ...request, path: `/v1/leaderboards/${BOARD}/scores/${randomPlayer(seeded)}` }),
  };
  const rank = await load(rankRequests);
  const rankAtRate = await load({ ...rankRequests, overallRate: readRate, warmupSeconds: 0 });
  const top = await load({ url: `${base}?limit=100`, connections: CONNECTIONS, seconds, headers });
  const writes = await writer;
  const submits = await load({
    url: base,
    connections: CONNECTIONS,
    seconds,
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    setupRequest: (request: RequestSpec) => ({ ...request, body: JSON.stringify({ player_id: String(randomPlayer(seeded)), score: Math.floor(Math.random() * 2_000_000) }) }),
  });
  await pool.stop(server);
  for (const [what, result] of [['rank', rank], ['rank at a fixed rate', rankAtRate], ['top-100', top], ['submits', submits]] as const) {
    if (result.non2xx > 0 || result.errors > 0) report.note(`WARNING ${backend} ${what}: ${result.non2xx} non-2xx ${JSON.stringify(result.statusCodes)}, ${result.errors} errors`);
  }
  return { key, coldMs, rank, rankAtRate, top, writes, submits };
}

/** ~writesPerSecond best-score submits of random players, for `total` seconds, beside the reads. */
async function startWriter(server: ServerProcess, key: string, seeded: Seeded, total: number): Promise<{ rps: number }> {
  const options = {
    url: `${server.url}/v1/leaderboards/${BOARD}/scores`,
    // Enough callers that the rate holds even when each submit waits a few ms behind the reads.
    connections: CONNECTIONS,
    duration: total,
    overallRate: writesPerSecond,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        setupRequest: (request: RequestSpec) => ({ ...request, body: JSON.stringify({ player_id: String(randomPlayer(seeded)), score: Math.floor(Math.random() * 2_000_000) }) }),
      },
    ],
  };
  const result = await autocannon(options);
  return { rps: result['2xx'] / result.duration };
}

/** The same concurrency against bare node:http: the floor of any HTTP latency on this machine. */
async function bareHttp(): Promise<LoadResult> {
  const server = await pool.start({ args: ['--import', 'tsx', 'bench/support/bare-http.ts'] });
  await waitForStatus(server, '/v1/healthz');
  const result = await load({ url: `${server.url}/v1/healthz`, connections: CONNECTIONS, seconds });
  await pool.stop(server);
  return result;
}

/** redis-benchmark's ZADD at the same concurrency: what the Redis server itself does per second. */
function redisZadd(): number {
  const url = new URL(REDIS_URL);
  const run = spawnSync('redis-benchmark', ['-h', url.hostname, '-p', url.port || '6379', '-t', 'zadd', '-n', '200000', '-c', String(CONNECTIONS), '-q'], { encoding: 'utf8' });
  const match = /ZADD:\s*([\d.]+) requests per second/.exec(run.stdout ?? '');
  if (!match) throw new Error(`redis-benchmark: ${run.stderr || run.stdout || run.error?.message}`);
  return Number(match[1]);
}

async function cleanRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const batch of redis.scanStream({ match: `ggscale-bench-${runId}:*`, count: 1000 })) {
      if ((batch as string[]).length > 0) await redis.del(...(batch as string[]));
    }
  } finally {
    redis.disconnect();
  }
}

const target = (size: number): number | undefined => (size >= 10_000_000 ? 5 : size >= 1_000_000 ? 2 : undefined);

async function main(): Promise<void> {
  report.note(`sizes ${sizes.join(', ')}; backends ${backends.join(', ')}; ${CONNECTIONS} connections, ${seconds} s each; ~${writesPerSecond} submits/s beside the reads`);
  const bare = await bareHttp();
  const zadd = backends.includes('redis') ? redisZadd() : NaN;
  for (const size of sizes) {
    const database = await createBenchDatabase();
    try {
      const seedStarted = performance.now();
      const seeded = await seed(database.url, size);
      await analyze(database.url);
      report.note(`${size.toLocaleString('en')} records seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
      const own = await inProcessIndex(database.url, seeded, size);
      let key: string | undefined;
      for (const backend of backends) {
        const m = await measureBackend(backend, database.url, seeded, size, key);
        key = m.key;
        const goal = target(size);
        const n = size.toLocaleString('en');
        report.table(`${n} records, ${backend} rank index (${CONNECTIONS} connections; ${fmt.perSecond(m.writes.rps, 'submit')} beside)`, [
          timeRow(`rank of a player p99 (${backend}, ${n}), closed loop`, m.rank.p99Ms, 'bare node:http p99', bare.p99Ms, goal === undefined ? {} : { maxMs: goal }),
          timeRow(`rank of a player p50, closed loop`, m.rank.p50Ms, 'bare node:http p50', bare.p50Ms),
          throughputRow(`rank of a player, closed loop`, m.rank.rps, 'bare node:http', bare.rps),
          timeRow(`rank of a player p99 at ${readRate}/s (open loop)`, m.rankAtRate.p99Ms, 'bare node:http p99', bare.p99Ms, goal === undefined ? {} : { maxMs: goal }),
          timeRow(`rank of a player p50 at ${readRate}/s (open loop)`, m.rankAtRate.p50Ms, 'bare node:http p50', bare.p50Ms),
          timeRow(`top 100 p99`, m.top.p99Ms, 'bare node:http p99', bare.p99Ms),
          timeRow(`top 100 p50`, m.top.p50Ms, 'bare node:http p50', bare.p50Ms),
          backend === 'redis'
            ? throughputRow('submits (HTTP, one upsert + one index script each)', m.submits.rps, 'redis-benchmark -t zadd', zadd, {}, 'submits/s')
            : throughputRow('submits (HTTP, one upsert + in-process index)', m.submits.rps, 'bare node:http', bare.rps, {}, 'submits/s'),
          infoRow('first rank request on a cold node (index built from Postgres)', fmt.ms(m.coldMs), 'in-process build (below)', fmt.ms(own.buildMs)),
        ]);
      }
      report.table(`${size.toLocaleString('en')} records, the in-process rank index alone (no HTTP, no Postgres)`, [
        infoRow('build from Postgres (keyset scan, 10k per batch)', fmt.ms(own.buildMs), '—', '—'),
        infoRow('rank of a player p50 / p99', `${(own.ranks.p50Ms * 1000).toFixed(1)} µs / ${(own.ranks.p99Ms * 1000).toFixed(1)} µs`, '—', '—'),
        infoRow('ranks per second (one caller)', fmt.perSecond(own.ranks.opsPerSecond, 'rank'), '—', '—'),
      ]);
    } finally {
      await pool.stopAll();
      await database.drop();
      // Each size's database numbers its tenant, project and board from 1 again: the next size must not
      // find this one's rank index under the same keys (it would be served as built).
      await cleanRedis().catch(() => undefined);
    }
  }
  report.finish();
}

runBench(main, pool, cleanRedis);
