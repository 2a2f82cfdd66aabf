/**
 * PostgreSQL frozen under load: every process of the server paused with SIGSTOP, so connections stay open and
 * nothing answers (what a network partition or a stuck failover looks like to a client). Before deadlines, two
 * requests of forty were still waiting after 30 s. Now, on both database drivers: every request answers
 * within REQUEST_TIMEOUT_MS (plus scheduling slack) — 503 + Retry-After while frozen —, liveness stays 200,
 * readiness is 503, the node serves again without a restart once the server thaws, and every acknowledged
 * write is there afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import postgres from 'postgres';
import { OwnPostgres, skipUnlessServices } from '../../support/services.js';
import { eventually } from '../../support/eventually.js';
import { assertUnavailable, call, createProjectOver, killServer, startServer, tally, type Answer, type Project, type Server } from './helpers.js';

const REQUEST_TIMEOUT_MS = 3_000;
/** The machine is shared and noisy: an answer within this is "bounded"; a hang shows as a client timeout. */
const ANSWER_BOUND_MS = REQUEST_TIMEOUT_MS + 2_000;
const FROZEN_MS = 8_000;
const WORKERS = 8;
const DRIVERS = ['wire', 'postgres.js'];

/** The postmaster and every process it started (backends, checkpointer, walwriter, ...). */
function serverProcesses(postmasterPid: number): number[] {
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmasterPid)], { encoding: 'utf8' })
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
  return [postmasterPid, ...children];
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // A backend that exited meanwhile.
    }
  }
}

for (const driver of DRIVERS) describe(`PostgreSQL frozen (SIGSTOP) under load, ${driver} driver`, { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  let server: Server | undefined;
  let project: Project;
  let postmasterPid: number;

  before(async () => {
    pg = await OwnPostgres.create();
    const sql = postgres(pg.url, { max: 1, onnotice: () => undefined });
    const [pidFile] = await sql<{ content: string }[]>`select pg_read_file('postmaster.pid') as content`;
    await sql.end();
    postmasterPid = Number(pidFile!.content.split('\n')[0]);
    server = await startServer({
      DATABASE_URL: pg.url,
      DATABASE_DRIVER: driver,
      DB_POOL_SIZE: '4',
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      STATEMENT_TIMEOUT_MS: '2000',
      STORAGE_MAX_OBJECTS_PER_OWNER: '1000000',
      // Short, so requests reach the database for their credential too while it is frozen.
      CREDENTIAL_CACHE_MS: '200',
      NEGATIVE_CREDENTIAL_CACHE_MS: '200',
    });
    project = await createProjectOver(server.url);
  });

  after(async () => {
    if (postmasterPid) signalAll(serverProcesses(postmasterPid), 'SIGCONT');
    await killServer(server);
    await pg?.destroy();
  });

  it('answers every request within the deadline while frozen, recovers after, and keeps every acknowledged write', async () => {
    const base = server!.url;
    const writes: { key: string; value: string; answer: Answer }[] = [];
    const reads: Answer[] = [];
    let running = true;
    let sequence = 0;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const key = `w${w}-${i}`;
        const value = `payload-${sequence++}`;
        const deadlineMs = REQUEST_TIMEOUT_MS + 20_000;
        writes.push({ key, value, answer: await call(base, 'PUT', `/v1/storage/saves/${key}`, { credential: project.secret, raw: value, deadlineMs }) });
        reads.push(await call(base, 'GET', `/v1/storage/saves/${key}`, { credential: project.secret, deadlineMs }));
      }
    };
    const load = Array.from({ length: WORKERS }, (_, w) => worker(w));
    await eventually(async () => writes.some((write) => write.answer.status === 200 || write.answer.status === 201), 20_000, 'load is flowing');

    const frozenAt = Date.now();
    const frozen = serverProcesses(postmasterPid);
    signalAll(frozen, 'SIGSTOP');
    const liveness: Answer[] = [];
    const readiness: Answer[] = [];
    try {
      while (Date.now() - frozenAt < FROZEN_MS) {
        liveness.push(await call(base, 'GET', '/v1/healthz', { deadlineMs: 10_000 }));
        readiness.push(await call(base, 'GET', '/v1/readyz', { deadlineMs: 10_000 }));
      }
    } finally {
      signalAll(frozen, 'SIGCONT');
    }
    const thawedAt = Date.now();

    // Recovery without a restart: a fresh write succeeds soon after the thaw.
    await eventually(
      async () => {
        const answer = await call(base, 'PUT', '/v1/storage/saves/after-thaw', { credential: project.secret, raw: 'ok', deadlineMs: 10_000 });
        return answer.status === 200 || answer.status === 201;
      },
      30_000,
      'a write succeeds after the thaw',
    );
    running = false;
    await Promise.all(load);

    const all = [...writes.map((write) => write.answer), ...reads, ...liveness, ...readiness];
    const slowest = Math.max(...all.map((answer) => answer.endedAt - answer.startedAt));
    const during = all.filter((answer) => answer.startedAt >= frozenAt && answer.startedAt < thawedAt);
    console.log(`# ${driver}: ${during.length} answers while frozen ${JSON.stringify(tally(during))}; slowest answer of the run ${slowest} ms`);

    for (const answer of all) {
      assert.equal(answer.error, undefined, `no answer within ${REQUEST_TIMEOUT_MS + 20_000} ms (hang): ${answer.error}`);
      assert.ok(answer.status !== 500, `a 500: ${answer.body}`);
      assert.ok(answer.endedAt - answer.startedAt <= ANSWER_BOUND_MS, `answered after ${answer.endedAt - answer.startedAt} ms: ${answer.status} ${answer.body}`);
      if (answer.status >= 500) assertUnavailable(answer, 'while frozen');
    }
    assert.ok(liveness.length > 0 && liveness.every((answer) => answer.status === 200), `liveness ${JSON.stringify(tally(liveness))}`);
    assert.ok(readiness.some((answer) => answer.status === 503), `readiness ${JSON.stringify(tally(readiness))}`);
    assert.ok(during.some((answer) => answer.status === 503), 'the frozen database was noticed');

    // Every acknowledged write is there.
    const acknowledged = writes.filter((write) => write.answer.status === 200 || write.answer.status === 201);
    assert.ok(acknowledged.length > 0);
    for (const write of acknowledged) {
      const answer = await call(base, 'GET', `/v1/storage/saves/${write.key}`, { credential: project.secret });
      assert.equal(answer.status, 200, `acknowledged ${write.key}: ${answer.status} ${answer.body}`);
      assert.equal(answer.body, write.value, `acknowledged ${write.key}`);
    }
  });
});
