/**
 * Redis killed under a request load on two ggscale nodes that share it (CACHE_BACKEND=redis). While it is
 * down: ordinary routes keep serving on per-node budgets (never a 5xx), sign-in may answer the documented
 * 503, and readyz stays 200 reporting the cache degraded. Once Redis is back: both nodes report it up and
 * share their budgets again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, realtimeUrl, type Client } from '../../realtime/helpers.js';
import { OwnPostgres, OwnRedis, skipUnlessServices } from '../../support/services.js';
import { eventually } from '../../support/eventually.js';
import {
  assertUnavailable,
  call,
  createProjectOver,
  expectStatus,
  killServer,
  signInDevice,
  startServer,
  tally,
  type Answer,
  type Player,
  type Project,
  type Server,
} from './helpers.js';

const PLAYERS = 6;

/** The per-player budget is left at its default (600 a minute): the sharing checks read its RateLimit field. */
const LIMITS = { RATE_LIMIT_PER_MIN: '600' };

interface Sample {
  route: string;
  answer: Answer;
  /** For writes: which player wrote what where. */
  write?: { player: number; key: string; value: string };
}

/** `"player";r=598;t=1` → 598 */
function remaining(answer: Answer): number {
  const field = answer.headers.get('ratelimit') ?? '';
  const match = /"player";r=(\d+)/.exec(field);
  assert.ok(match, `no player RateLimit field in ${answer.status} ${field}`);
  return Number(match[1]);
}

describe('Redis stopped under load, shared by two nodes', { skip: skipUnlessServices(['postgres', 'redis']) }, () => {
  let pg: OwnPostgres;
  let redis: OwnRedis;
  const nodes: Server[] = [];
  let project: Project;
  const players: Player[] = [];
  /** Fresh players for the sharing probes: one budget each, untouched by the load. */
  const probes: Player[] = [];
  const sockets: Client[] = [];

  before(async () => {
    pg = await OwnPostgres.create();
    redis = await OwnRedis.create();
    const env = { DATABASE_URL: pg.url, CACHE_BACKEND: 'redis', REDIS_URL: redis.url, ...LIMITS };
    nodes.push(await startServer(env));
    nodes.push(await startServer({ ...env, GGSCALE_MIGRATE_ON_START: 'false' }));
    project = await createProjectOver(nodes[0]!.url);
    expectStatus(
      await call(nodes[0]!.url, 'POST', '/v1/leaderboards', { credential: project.secret, body: { id: 'race', sort: 'desc', operator: 'best' } }),
      201,
      'board',
    );
    for (let i = 0; i < PLAYERS; i++) players.push(await signInDevice(nodes[i % 2]!.url, project, `redis-load-${i}-0123456789`));
    for (let i = 0; i < 3; i++) probes.push(await signInDevice(nodes[0]!.url, project, `redis-probe-${i}-0123456789`));
  });

  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    await Promise.all(nodes.map((node) => killServer(node)));
    await redis?.destroy();
    await pg?.destroy();
  });

  /**
   * Ten hits on node 0, then one on node 1, with a probe player untouched so far: node 1 counts from 599
   * when it has a budget of its own, and from ~589 when it shares node 0's (the budget refills one hit per
   * 100 ms, so up to a few hundred ms between the calls still leaves a clear gap).
   */
  const budgetsShared = async (probe: Player): Promise<{ shared: boolean; own: boolean; first: number; second: number }> => {
    let first = 0;
    for (let i = 0; i < 10; i++) first = remaining(await call(nodes[0]!.url, 'GET', '/v1/auth/me', { credential: probe.accessToken }));
    const second = remaining(await call(nodes[1]!.url, 'GET', '/v1/auth/me', { credential: probe.accessToken }));
    return { shared: second <= 595, own: second === 599, first, second };
  };

  const readiness = async (node: Server) => {
    const answer = await call(node.url, 'GET', '/v1/readyz');
    return { status: answer.status, body: answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {} };
  };

  it('keeps ordinary routes serving on per-node budgets while Redis is down, and shares them again once it is back', async () => {
    const before = await budgetsShared(probes[0]!);
    assert.ok(before.shared, `budgets not shared while Redis is up: ${JSON.stringify(before)}`);
    for (const node of nodes) assert.deepEqual((await readiness(node)).body, { database: 'ok', cache: 'ok' });
    for (let i = 0; i < 4; i++) sockets.push(await connect(realtimeUrl(nodes[i % 2]!.url, players[i]!.accessToken)));

    const samples: Sample[] = [];
    let running = true;
    const worker = async (w: number) => {
      const player = players[w]!;
      for (let i = 0; running; i++) {
        const base = nodes[(w + i) % 2]!.url;
        const credential = player.accessToken;
        samples.push({ route: 'GET /v1/auth/me', answer: await call(base, 'GET', '/v1/auth/me', { credential }) });
        const write = { player: w, key: `slot-${i % 5}`, value: `w${w}-${i}` };
        samples.push({ route: 'PUT /v1/storage', write, answer: await call(base, 'PUT', `/v1/storage/saves/${write.key}`, { credential, raw: write.value }) });
        samples.push({ route: 'GET /v1/storage', answer: await call(base, 'GET', `/v1/storage/saves/slot-${i % 5}`, { credential }) });
        samples.push({
          route: 'leaderboard',
          write: { player: w, key: 'race', value: String(i) },
          answer: await call(base, 'POST', '/v1/leaderboards/race/scores', { credential, body: { score: i } }),
        });
      }
    };
    const load = Promise.all(players.map((_, w) => worker(w)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await redis.stop('SIGKILL');
      const downAt = Date.now();

      // Both nodes notice: readyz stays 200 and reports the cache degraded.
      for (const node of nodes) {
        await eventually(async () => (await readiness(node)).body.cache === 'degraded', 10_000, 'readyz reporting the cache degraded');
      }
      const during = await budgetsShared(probes[1]!);
      assert.ok(during.own, `each node should count on its own while Redis is down: ${JSON.stringify(during)}`);
      // New WebSockets are accepted (per-node caps), and open ones keep answering.
      const fresh = await connect(realtimeUrl(nodes[1]!.url, players[5]!.accessToken));
      sockets.push(fresh);
      assert.equal((await fresh.request({ op: 'ping' })).op, 'pong');
      for (const socket of sockets) assert.equal((await socket.request({ op: 'ping' })).op, 'pong');
      // Sign-in fails closed, with the documented 503 (or is served, if a node decided before it noticed).
      const signIn = await call(nodes[0]!.url, 'POST', '/v1/auth/device', { credential: project.publishable, body: { device_id: 'redis-down-device-0123456789' } });
      if (signIn.status === 503) assertUnavailable(signIn, 'sign-in while Redis is down');
      else assert.ok(signIn.status === 200 || signIn.status === 201, `sign-in while Redis is down: ${signIn.status} ${signIn.body}`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const node of nodes) {
        const ready = await readiness(node);
        assert.equal(ready.status, 200, 'readyz stays 200 while only the cache is down');
        assert.deepEqual(ready.body, { database: 'ok', cache: 'degraded' });
      }

      await redis.start();
      const upAt = Date.now();
      for (const node of nodes) {
        await eventually(async () => (await readiness(node)).body.cache === 'ok', 20_000, 'readyz reporting the cache up again');
      }
      const recoveredMs = Date.now() - upAt;
      // A fresh probe each time: a probe's budget was counted on one node only while Redis was away.
      let probeRound = 0;
      await eventually(
        async () => (await budgetsShared(probeRound++ === 0 ? probes[2]! : await signInDevice(nodes[0]!.url, project, `redis-after-${probeRound}-0123456789`))).shared,
        20_000,
        'budgets shared again',
      );
      const sharedAgainMs = Date.now() - upAt;
      running = false;
      await load;

      const inOutage = samples.filter((s) => s.answer.startedAt >= downAt && s.answer.endedAt <= upAt);
      console.log(
        `redis outage figures: ${JSON.stringify({
          outage_ms: upAt - downAt,
          requests: samples.length,
          requests_during_outage: inOutage.length,
          cache_up_on_both_nodes_ms: recoveredMs,
          budgets_shared_again_ms: sharedAgainMs,
          statuses: Object.fromEntries(['GET /v1/auth/me', 'PUT /v1/storage', 'GET /v1/storage', 'leaderboard'].map((route) => [route, tally(samples.filter((s) => s.route === route).map((s) => s.answer))])),
        })}`,
      );

      assert.ok(inOutage.length >= 20, `only ${inOutage.length} requests during the outage`);
      for (const { route, answer } of samples) {
        if (route === 'leaderboard') {
          // Ranks come from the Redis index, which answers 503 rather than guess while Redis is away.
          if (answer.status === 503) assertUnavailable(answer, 'leaderboard submit while Redis is down');
          else assert.equal(answer.status, 200, `${route}: ${answer.status} ${answer.error ?? ''} ${answer.body}`);
          continue;
        }
        assert.ok(answer.status >= 200 && answer.status < 300, `${route} ${answer.startedAt - downAt} ms after the kill: ${answer.status} ${answer.error ?? ''} ${answer.body}`);
      }
      for (const node of nodes) assert.equal(node.child.exitCode, null, 'a node exited');

      // What was acknowledged is there, read through either node: each slot holds its last acknowledged
      // value, and each player's best is at least its best acknowledged score (Redis restarted empty, so
      // the rank index is rebuilt from PostgreSQL).
      const acknowledged = samples.filter((s) => s.write && s.answer.status >= 200 && s.answer.status < 300);
      const lastValue = new Map<string, string>();
      const bestScore = new Map<number, number>();
      for (const { route, write } of acknowledged) {
        if (route === 'leaderboard') bestScore.set(write!.player, Math.max(bestScore.get(write!.player) ?? -1, Number(write!.value)));
        else lastValue.set(`${write!.player}/${write!.key}`, write!.value);
      }
      for (const [where, value] of lastValue) {
        const [player, key] = where.split('/');
        const read = await call(nodes[Number(player) % 2]!.url, 'GET', `/v1/storage/saves/${key!}`, { credential: players[Number(player)]!.accessToken });
        assert.equal(read.body, value, `${where}: ${read.status}`);
      }
      for (const [player, score] of bestScore) {
        await eventually(
          async () => {
            const read = await call(nodes[player % 2]!.url, 'GET', `/v1/leaderboards/race/scores/${players[player]!.id}`, { credential: project.secret });
            return read.status === 200 && Number((JSON.parse(read.body) as { score: number }).score) >= score;
          },
          10_000,
          `player ${player}'s best score (at least ${score}) after the restart`,
        );
      }
      console.log(`redis outage: verified ${lastValue.size} objects and ${bestScore.size} best scores`);
    } finally {
      running = false;
      await load;
    }
  });
});
