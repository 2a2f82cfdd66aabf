/**
 * Player auth figures, each beside a baseline measured in the same run:
 *  1. logins/s (POST /v1/auth/login over HTTP, real PostgreSQL, sign-in budgets raised so nothing is 429)
 *     beside raw argon2id verifications/s with the same parameters at PASSWORD_HASH_CONCURRENCY: the hash
 *     is the ceiling;
 *  2. a secret-key-authenticated no-op route's req/s beside /v1/healthz's on the same server.
 * Run: node --import tsx bench/auth.ts (needs PostgreSQL at BENCH_DATABASE_URL, default local).
 * PASSWORD_HASH_CONCURRENCY and UV_THREADPOOL_SIZE, when set, are passed to the server (and the former
 * sets the raw ceiling's concurrency), for experiments.
 */
import { hash, verify } from '@node-rs/argon2';
import { loadConfig } from '../src/app/config.js';
import { ARGON2_PARAMS } from '../src/modules/auth/password-hasher.js';
import { BENCH_ADMIN_TOKEN, createProject, signup } from './support/api.js';
import { drive } from './support/drive.js';
import { alternate, assertClean, load, type LoadResult } from './support/load.js';
import { createBenchDatabase } from './support/pg.js';
import { ServerPool, waitForStatus } from './support/process.js';
import { Report, fmt, infoRow, median, throughputRow } from './support/table.js';
import { runBench } from './support/run-bench.js';

const LOGIN_ROUNDS = 4;
const LOGIN_SECONDS = 2;
const NOOP_ROUNDS = 5;
const NOOP_SECONDS = 2;
const CONNECTIONS = 64;
const PASSWORD = 'correct horse battery staple';
const UNLIMITED = '100000000';

const report = new Report('auth');
const pool = new ServerPool();

async function main(): Promise<void> {
  const database = await createBenchDatabase();
  try {
    const env = {
      DATABASE_URL: database.url,
      GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      // Nothing may be refused: a figure built on 429s would measure the limiter, not the work.
      AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
      PROJECT_AUTH_RATE_LIMIT_PER_MIN: UNLIMITED,
      AUTH_FAILURES_PER_EMAIL_IP: UNLIMITED,
      AUTH_FAILURES_PER_EMAIL: UNLIMITED,
      SECRET_KEY_RATE_LIMIT_PER_MIN: UNLIMITED,
      BENCH_ROUTES: 'noop',
      // Experiments: PASSWORD_HASH_CONCURRENCY (the raw ceiling follows it) and UV_THREADPOOL_SIZE pass through.
      ...(process.env.PASSWORD_HASH_CONCURRENCY ? { PASSWORD_HASH_CONCURRENCY: process.env.PASSWORD_HASH_CONCURRENCY } : {}),
      ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
    };
    const hashConcurrency = loadConfig(env).auth.hashConcurrency;
    const server = await pool.start({ args: ['--import', 'tsx', 'bench/support/bench-server.ts'], env });
    await waitForStatus(server, '/v1/readyz', 200, 60_000, 20);
    const project = await createProject(server.url, 'bench-auth');
    const email = 'login-bench@bench.example';
    await signup(server.url, project, email, PASSWORD);

    // 1. Logins beside the raw hash, alternating rounds (the server idles while the raw hash runs here).
    const stored = await hash(PASSWORD, ARGON2_PARAMS);
    if (!(await verify(stored, PASSWORD))) throw new Error('argon2 verify of its own hash failed');
    const loginConnections = hashConcurrency * 2; // more callers than hash slots: the hasher never idles
    const login = {
      url: server.url + '/v1/auth/login',
      method: 'POST',
      connections: loginConnections,
      seconds: LOGIN_SECONDS,
      warmupSeconds: 1,
      headers: { authorization: `Bearer ${project.publishableKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    };
    await drive(hashConcurrency, 1, () => verify(stored, PASSWORD)); // warm-up
    const raw: number[] = [];
    const logins: LoadResult[] = [];
    for (let round = 0; round < LOGIN_ROUNDS; round++) {
      raw.push((await drive(hashConcurrency, LOGIN_SECONDS, () => verify(stored, PASSWORD))).opsPerSecond);
      const result = await load(round === 0 ? login : { ...login, warmupSeconds: 0 });
      assertClean('login', result);
      logins.push(result);
    }
    const loginRps = median(logins.map((r) => r.rps));
    report.table(
      `Logins: POST /v1/auth/login (PostgreSQL, ${loginConnections} connections) beside raw argon2id verify (m=${ARGON2_PARAMS.memoryCost} KiB, t=${ARGON2_PARAMS.timeCost}, p=${ARGON2_PARAMS.parallelism}) at PASSWORD_HASH_CONCURRENCY=${hashConcurrency}, ${LOGIN_ROUNDS}×${LOGIN_SECONDS} s alternating`,
      [
        throughputRow('logins/s over HTTP', loginRps, `raw argon2id verify, ${hashConcurrency} at once (in-process)`, median(raw), { minRatio: 0.9 }, 'logins/s'),
        infoRow('  login p50 / p99 latency', `${fmt.ms(median(logins.map((r) => r.p50Ms)))} / ${fmt.ms(median(logins.map((r) => r.p99Ms)))}`, '—', '—'),
      ],
    );

    // 2. The cost of API-key authentication (and the secret-key budget) on a route that does nothing.
    const target = (path: string, headers?: Record<string, string>) => ({
      url: server.url + path,
      connections: CONNECTIONS,
      seconds: NOOP_SECONDS,
      warmupSeconds: 1,
      ...(headers ? { headers } : {}),
    });
    const results = await alternate(NOOP_ROUNDS, {
      healthz: target('/v1/healthz'),
      noop: target('/bench/noop', { authorization: `Bearer ${project.secretKey}` }),
    });
    report.table(`Secret-key authenticated no-op (GET /bench/noop → {}) beside /v1/healthz, same server, ${CONNECTIONS} connections, ${NOOP_ROUNDS}×${NOOP_SECONDS} s alternating`, [
      throughputRow('GET /bench/noop with a secret key', results.noop.rps, 'GET /v1/healthz', results.healthz.rps, { maxOverhead: 0.15 }),
      infoRow('  p99 latency', fmt.ms(results.noop.p99Ms), 'healthz p99', fmt.ms(results.healthz.p99Ms), fmt.ratio(results.noop.p99Ms / results.healthz.p99Ms)),
    ]);
    await pool.stop(server);
  } finally {
    await pool.stopAll();
    await database.drop();
  }
  report.finish();
}

runBench(main, pool);
