/**
 * PostgreSQL stopped (fast: a clean shutdown; immediate: a crash) and started again under a steady write load on a
 * real ggscale process. While it is down every answer is the documented 503 (problem JSON, Retry-After)
 * within the request timeout, and readyz is 503; once it accepts connections again the node serves writes
 * within 5 s; no answer is ever a 500; and every write that was acknowledged is there afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/eventually.js';
import { OwnPostgres, skipUnlessServices, type PostgresStopMode } from '../../support/services.js';
import { assertUnavailable, call, createProjectOver, expectStatus, killServer, startServer, tally, type Answer, type Project, type Server } from './helpers.js';

const REQUEST_TIMEOUT_MS = 3_000;
const WORKERS = 6;
const PLAYERS = 6;
const RECOVERY_BOUND_MS = 5_000;

interface Write {
  kind: 'put' | 'score';
  /** Storage key, or the player whose best score was submitted. */
  target: string;
  value: string;
  answer: Answer;
}

for (const mode of ['immediate', 'fast'] satisfies PostgresStopMode[]) describe(`PostgreSQL stopped (${mode}) and restarted under a write load`, { skip: skipUnlessServices(['postgres']) }, () => {
  let pg: OwnPostgres;
  let server: Server | undefined;
  let project: Project;
  const players: string[] = [];

  before(async () => {
    pg = await OwnPostgres.create();
    server = await startServer({
      DATABASE_URL: pg.url,
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      STATEMENT_TIMEOUT_MS: '2000',
      STORAGE_MAX_OBJECTS_PER_OWNER: '1000000',
      // A resolved key is trusted this long without a round trip: short, so the outage reaches that path too.
      CREDENTIAL_CACHE_MS: '500',
    });
    project = await createProjectOver(server.url);
    expectStatus(
      await call(server.url, 'POST', '/v1/leaderboards', { credential: project.secret, body: { id: 'race', sort: 'desc', operator: 'best' } }),
      201,
      'board',
    );
    for (let i = 0; i < PLAYERS; i++) {
      const answer = await call(server.url, 'POST', '/v1/auth/device', { credential: project.publishable, body: { device_id: `fault-player-${i}-0123456789` } });
      players.push(String((expectStatus(answer, 201, 'player') as { player: { id: string } }).player.id));
    }
  });

  after(async () => {
    await killServer(server);
    await pg?.destroy();
  });

  it('answers 503 + Retry-After within the request timeout while it is down, serves writes within 5 s of its return, and keeps every acknowledged write', async () => {
    const base = server!.url;
    const writes: Write[] = [];
    const readiness: Answer[] = [];
    let running = true;
    const sequence = { next: 0 };

    // Each worker alternates a storage PUT of a unique key and a score above every score it sent before.
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const n = sequence.next++;
        const key = `w${w}-${i}`;
        const value = `payload-${n}`;
        writes.push({
          kind: 'put',
          target: key,
          value,
          answer: await call(base, 'PUT', `/v1/storage/saves/${key}`, { credential: project.secret, raw: value, deadlineMs: REQUEST_TIMEOUT_MS + 5_000 }),
        });
        const player = players[w % PLAYERS]!;
        const score = String(1_000 + n);
        writes.push({
          kind: 'score',
          target: player,
          value: score,
          answer: await call(base, 'POST', '/v1/leaderboards/race/scores', {
            credential: project.secret,
            body: { player_id: player, score: Number(score) },
            deadlineMs: REQUEST_TIMEOUT_MS + 5_000,
          }),
        });
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const acknowledged = () => writes.filter((write) => write.answer.status >= 200 && write.answer.status < 300).length;
    try {
      await eventually(() => acknowledged() >= 100, 20_000, 'writes acknowledged before the outage');

      await pg.stop(mode);
      const downAt = Date.now();
      // While it is down: readyz and the load, for a few seconds.
      while (Date.now() - downAt < 3_000) {
        readiness.push(await call(base, 'GET', '/v1/readyz', { deadlineMs: REQUEST_TIMEOUT_MS + 5_000 }));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const startAt = Date.now();
      await pg.start();
      const upAt = Date.now();

      // Recovery: the first write sent after PostgreSQL accepted connections that was acknowledged.
      await eventually(() => writes.some((w) => w.answer.startedAt >= upAt && w.answer.status >= 200 && w.answer.status < 300), 30_000, 'a write after the restart');
      const firstOk = Math.min(...writes.filter((w) => w.answer.startedAt >= upAt && w.answer.status < 300 && w.answer.status >= 200).map((w) => w.answer.endedAt));
      const recoveryMs = firstOk - upAt;
      // Some more load on the recovered server, then stop it.
      const countAfter = acknowledged();
      await eventually(() => acknowledged() >= countAfter + 50, 20_000, 'writes after recovery');
      running = false;
      await load;

      const during = writes.filter((w) => w.answer.startedAt >= downAt && w.answer.endedAt <= startAt);
      const report = {
        outage_ms: upAt - downAt,
        requests_during_outage: during.length,
        recovery_ms: recoveryMs,
        writes: writes.length,
        acknowledged: acknowledged(),
        statuses: tally(writes.map((w) => w.answer)),
        slowest_outage_answer_ms: Math.max(0, ...during.map((w) => w.answer.endedAt - w.answer.startedAt)),
      };
      console.log(`postgres outage (${mode}) figures: ${JSON.stringify(report)}`);

      for (const write of writes) {
        const { answer } = write;
        assert.ok(
          (answer.status >= 200 && answer.status < 300) || answer.status === 503,
          `a ${write.kind} sent ${answer.startedAt - downAt} ms after the stop (restart at ${upAt - downAt} ms) answered ` +
            `${answer.status} ${answer.error ?? ''} after ${answer.endedAt - answer.startedAt} ms: ${answer.body}`,
        );
        if (answer.status === 503) assertUnavailable(answer, `${write.kind} while the database was down`);
      }
      assert.ok(during.length >= 10, `only ${during.length} requests were made during the outage`);
      for (const write of during) {
        assertUnavailable(write.answer, `${write.kind} during the outage`);
        assert.ok(write.answer.endedAt - write.answer.startedAt <= REQUEST_TIMEOUT_MS, `an answer took ${write.answer.endedAt - write.answer.startedAt} ms`);
      }
      assert.ok(readiness.length > 0);
      for (const answer of readiness) assertUnavailable(answer, `readyz ${answer.startedAt - downAt} ms after the stop`);
      assert.ok(recoveryMs <= RECOVERY_BOUND_MS, `writes were served again ${recoveryMs} ms after PostgreSQL accepted connections`);
      assert.equal((await call(base, 'GET', '/v1/readyz')).status, 200);

      // Every acknowledged write is there: objects with their bytes, and each player's best is at least
      // the best score acknowledged for it (a 503'd submit may or may not have landed).
      const best = new Map<string, number>();
      let verified = 0;
      for (const write of writes) {
        if (write.answer.status < 200 || write.answer.status >= 300) continue;
        if (write.kind === 'put') {
          const read = await call(base, 'GET', `/v1/storage/saves/${write.target}`, { credential: project.secret });
          assert.equal(read.status, 200, `acknowledged object ${write.target} is missing: ${read.body}`);
          assert.equal(read.body, write.value, `acknowledged object ${write.target} has other bytes`);
          verified++;
        } else {
          best.set(write.target, Math.max(best.get(write.target) ?? 0, Number(write.value)));
        }
      }
      for (const [player, score] of best) {
        const record = expectStatus(await call(base, 'GET', `/v1/leaderboards/race/scores/${player}`, { credential: project.secret }), 200, 'record');
        assert.ok(Number(record.score) >= score, `player ${player}: best ${String(record.score)} below the acknowledged ${score}`);
        verified++;
      }
      console.log(`postgres outage (${mode}): verified ${verified} acknowledged writes (objects, and best scores of ${best.size} players)`);
      assert.equal(server!.child.exitCode, null, 'the server process is still running');
      assert.equal(
        server!.stdout.filter((line) => line.includes('"status":500') || line.includes('unhandled error')).length,
        0,
        'the server logged a 500',
      );
    } finally {
      running = false;
      await load;
    }
  });
});
