/**
 * The request limiter's cost on a player-token route: req/s with the per-player budget on (limits raised so
 * nothing is refused) beside the same server with it off (RATE_LIMIT_PER_MIN=0 skips the budget), on
 * CACHE_BACKEND=memory and CACHE_BACKEND=redis, all on real PostgreSQL.
 * Run: node --import tsx bench/limits.ts [--route=me|storage]
 *   me       GET /v1/auth/me (default)
 *   storage  GET /v1/storage/bench/object (needs the storage module)
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BENCH_ADMIN_TOKEN, createProject, deviceSignIn, type BenchProject } from './support/api.js';
import { alternate, type LoadOptions, type LoadResult } from './support/load.js';
import { createBenchDatabase } from './support/pg.js';
import { ServerPool, waitForStatus, type ServerProcess } from './support/process.js';
import { Report, fmt, infoRow, throughputRow } from './support/table.js';
import { runBench } from './support/run-bench.js';

const ROUNDS = 5;
const SECONDS = 2;
const CONNECTIONS = 64;
const UNLIMITED = '100000000';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DEVICE_ID = 'limits-bench-device-0123456789';

function routeFlag(): 'me' | 'storage' {
  const args = process.argv.slice(2);
  const inline = args.find((arg) => arg.startsWith('--route='))?.slice('--route='.length);
  const index = args.indexOf('--route');
  const value = inline ?? (index >= 0 ? args[index + 1] : undefined) ?? 'me';
  if (value !== 'me' && value !== 'storage') throw new Error(`--route must be me or storage, not "${value}"`);
  return value;
}

const route = routeFlag();
const report = new Report('limits');
const pool = new ServerPool();
const runId = randomBytes(4).toString('hex');

/** The path to load and, for storage, the object it reads (written once per player). */
async function prepareRoute(server: ServerProcess, accessToken: string): Promise<string> {
  if (route === 'me') return '/v1/auth/me';
  const path = '/v1/storage/bench/object';
  const res = await fetch(server.url + path, {
    method: 'PUT',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/octet-stream' },
    body: randomBytes(256),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${path}: ${res.status} ${await res.text()} (is the storage module there?)`);
  return path;
}

async function measure(backend: 'memory' | 'redis', databaseUrl: string): Promise<void> {
  const server = (limiter: 'on' | 'off' | 'proposal') =>
    pool.start({
      args: ['--import', 'tsx', 'bench/support/bench-server.ts'],
      env: {
        DATABASE_URL: databaseUrl,
        GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        CACHE_BACKEND: backend,
        REDIS_URL,
        BENCH_CACHE_PREFIX: `ggscale-bench-${runId}-${limiter}:`,
        AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
        RATE_LIMIT_PER_MIN: limiter === 'off' ? '0' : UNLIMITED,
        ...(limiter === 'proposal' ? { BENCH_REDIS_AUTOPIPELINING: '1' } : {}),
      },
    });
  const [on, off, proposal] = await Promise.all([server('on'), server('off'), ...(backend === 'redis' ? [server('proposal')] : [])]);
  const servers = proposal ? [on, off, proposal] : [on, off];
  await Promise.all(servers.map((s) => waitForStatus(s, '/v1/readyz', 200, 60_000, 20)));
  const project: BenchProject = await createProject(on.url, `bench-limits-${backend}`);
  // One token per server: each signs with the keys it loaded (the player is the same one).
  const tokenOn = (await deviceSignIn(on.url, project, DEVICE_ID)).access_token;
  const tokenOff = (await deviceSignIn(off.url, project, DEVICE_ID)).access_token;
  const pathOn = await prepareRoute(on, tokenOn);
  const pathOff = await prepareRoute(off, tokenOff);
  const tokenProposal = proposal ? (await deviceSignIn(proposal.url, project, DEVICE_ID)).access_token : '';
  const pathProposal = proposal ? await prepareRoute(proposal, tokenProposal) : '';
  // The budget really runs on "on" and really does not on "off".
  const headerOf = async (s: ServerProcess, path: string, token: string) =>
    (await fetch(s.url + path, { headers: { authorization: `Bearer ${token}` } })).headers.get('ratelimit-policy');
  if (!(await headerOf(on, pathOn, tokenOn))?.includes('"player"')) throw new Error('the limiter is not counting on the "on" server');
  if ((await headerOf(off, pathOff, tokenOff)) !== null) throw new Error('the limiter is counting on the "off" server');

  const target = (s: ServerProcess, path: string, token: string) => ({
    url: s.url + path,
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmupSeconds: 1,
    headers: { authorization: `Bearer ${token}` },
  });
  const targets: Record<string, LoadOptions> = { off: target(off, pathOff, tokenOff), on: target(on, pathOn, tokenOn) };
  if (proposal) targets.proposal = target(proposal, pathProposal, tokenProposal);
  const results: Record<string, LoadResult | undefined> = await alternate(ROUNDS, targets);
  const { on: onResult, off: offResult } = results as Record<'on' | 'off', LoadResult>;
  const name = `GET ${pathOn}`;
  report.table(`Limiter cost, CACHE_BACKEND=${backend}: ${name} (player token, PostgreSQL), ${CONNECTIONS} connections, ${ROUNDS}×${SECONDS} s alternating`, [
    throughputRow(`${name}, per-player budget on (${backend})`, onResult.rps, 'same route, RATE_LIMIT_PER_MIN=0 (off)', offResult.rps, { maxOverhead: backend === 'memory' ? 0.1 : 0.25 }),
    infoRow('  p99 latency', fmt.ms(onResult.p99Ms), 'off p99', fmt.ms(offResult.p99Ms), fmt.ratio(onResult.p99Ms / offResult.p99Ms)),
    ...(results.proposal
      ? [throughputRow('  proposal, not the server: budget on, ioredis auto-pipelining', results.proposal.rps, 'same route, off', offResult.rps)]
      : []),
  ]);
  await Promise.all(servers.map((s) => pool.stop(s)));
}

/** The run's keys expire on their own within a minute; delete them now anyway. */
async function cleanRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `ggscale-bench-${runId}-*`, count: 1000 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const database = await createBenchDatabase();
  try {
    report.note(`route: ${route} (--route=me|storage)`);
    await measure('memory', database.url);
    await measure('redis', database.url);
  } finally {
    await pool.stopAll();
    await database.drop();
    await cleanRedis().catch(() => undefined);
  }
  report.finish();
}

runBench(main, pool);
