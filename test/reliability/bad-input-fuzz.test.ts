/**
 * The bad-input fuzzer (issue 7): property-based over the served OpenAPI document, every operation × every
 * credential kind, schema-valid and schema-breaking requests against seeded data (deep nesting from 33 to
 * 100k levels, arrays of small values up to the body limit, hostile numbers, strings and keys). Per answer:
 * no 5xx but a documented 503, every error problem JSON, an answer within the request timeout. A socket pass
 * sends what inject() cannot (wire faults), and a slow pass sends heads and bodies that stall or trickle, to
 * a server with a short REQUEST_TIMEOUT_MS: each is refused early, answered 408, or closed, within the bound.
 * Afterwards the server is alive and tenant B's rows are exactly what they were.
 *
 * FUZZ_SEED (printed) replays a run; FUZZ_RUNS scales the PGlite volume (PostgreSQL runs an eighth of it,
 * at least 1,000); FUZZ_ONLY=operationId:kind[,…] runs only those pairs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { OPERATOR_TOKEN } from '../support/tenancy.js';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { newTally, pairName, pairSeed, runCampaign, type Campaign } from './support/fuzz-campaign.js';
import { operatorPathGuard, worldHints } from './support/fuzz-hints.js';
import { checkAnswer, within } from './support/fuzz-invariants.js';
import { CREDENTIAL_KINDS, bodySatisfiesSchema, requestArbitrary, type Credentials } from './support/fuzz-request.js';
import { rawRequest } from './support/raw-http.js';
import { BODY_LIMIT_BYTES } from './support/hostile-json.js';
import { SLOW_FAULTS, describeSlow, sendSlowly, slowRequestArbitrary } from './support/slow-requests.js';
import { WIRE_FAULTS, describeWire, wireRequestArbitrary, type Target } from './support/wire-faults.js';
import { seedWorld, tenantSnapshot, type FuzzWorld } from './support/fuzz-world.js';
import { operationsOf, type OpenApiDocument, type Operation } from './support/openapi-operations.js';

const SEED = Number(process.env.FUZZ_SEED ?? 7_2025);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
if (!Number.isSafeInteger(SEED) || !Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error('FUZZ_SEED and FUZZ_RUNS must be integers');
const ONLY = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(',').map((s) => s.trim())) : undefined;
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 2);

/** Budgets lifted so the fuzz reaches handlers instead of 429s (src/modules/ratelimit/config.ts, "limits"). */
const LIFTED_BUDGETS = {
  RATE_LIMIT_PER_MIN: '100000000',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
  AUTH_RATE_LIMIT_PER_MIN: '100000000',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '100000000',
  AUTH_FAILURES_PER_EMAIL_IP: '100000000',
  AUTH_FAILURES_PER_EMAIL: '100000000',
  BAD_CREDENTIALS_PER_IP_PER_MIN: '100000000',
  // Connection caps too: the socket pass opens WebSockets and leaves them to close on their own.
  WS_MAX_CONNECTIONS_PER_TENANT: '100000000',
  WS_MAX_CONNECTIONS_PER_PLAYER: '100000000',
};

/** The slow pass's REQUEST_TIMEOUT_MS, and how far past it an answer or a close may come (a shared machine). */
const SLOW_TIMEOUT_MS = 1_000;
const SLOW_SLACK_MS = 3_000;
/** Slow requests in flight at once (each takes about SLOW_TIMEOUT_MS). */
const SLOW_CONCURRENCY = 8;

/** Few, quick game servers: fuzzed fleets and allocations must not flood a 2-core machine with processes. */
const SMALL_FLEET = {
  FLEET_LOCAL_BUFFER: '1',
  FLEET_LOCAL_MAX_PROCESSES: '6',
  FLEET_ALLOCATION_WAIT_MS: '200',
};

for (const [index, kind] of databaseKinds().entries()) {
  const runs = kind.name === 'pglite' ? RUNS : Math.max(1_000, Math.round(RUNS / 8));
  const wireRuns = kind.name === 'pglite' ? 400 : 150;
  const slowRuns = kind.name === 'pglite' ? 64 : 32;

  describe(`bad-input fuzz (${kind.name})`, () => {
    let database: TestDatabase;
    let cache: CacheBackend | undefined;
    let t: TestApp;
    let world: FuzzWorld;
    let operations: Operation[];
    let otherTenantBefore: Record<string, string[]>;

    before(async () => {
      database = await kind.create();
      const redisUrl = kind.name === 'postgres' ? process.env.REDIS_URL : undefined;
      const prefix = `ggscale-fuzz-${randomBytes(4).toString('hex')}:`;
      if (redisUrl) cache = await createCache({ backend: 'redis', redisUrl, keyPrefix: prefix });
      t = await buildTestApp({
        db: database.db,
        cache,
        env: {
          LOG_LEVEL: 'warn',
          ...LIFTED_BUDGETS,
          ...SMALL_FLEET,
          FLEET_LOCAL_PORT_RANGE: `${28000 + index * 200}-${28199 + index * 200}`,
          ...(redisUrl ? { CACHE_BACKEND: 'redis', REDIS_URL: redisUrl, LEADERBOARD_REDIS_KEY_PREFIX: prefix } : {}),
        },
      });
      world = await seedWorld(t.app);
      const document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<OpenApiDocument>();
      operations = operationsOf(document);
      // B's rows settle (last-used stamps are written after the answer), then become the referee.
      let previous = '';
      await eventually(
        async () => {
          const now = JSON.stringify(await tenantSnapshot(database.db, world.other.tenantId));
          const stable = now === previous;
          previous = now;
          return stable;
        },
        10_000,
        "tenant B's rows settle",
      );
      otherTenantBefore = JSON.parse(previous) as Record<string, string[]>;
    });

    after(async () => {
      // A socket the server never lets go of makes close() wait forever: that is a finding, not a stuck run.
      if (t) await within(t.close(), 30_000, 'app.close() after the fuzz');
      await cache?.close();
      await database?.drop();
    });

    /** One schema-valid path per operation, for the socket passes (the operator guard applies to them too). */
    const socketTargets = (credentials: Credentials): Target[] =>
      operations.map((operation) => {
        const [sample] = fc.sample(
          requestArbitrary(operation, 'secret', worldHints(world), credentials, operatorPathGuard(world)).filter((r) => r.broken.length === 0),
          { numRuns: 1, seed: SEED },
        );
        return { method: operation.method, path: sample!.url.split('?')[0]!, json: operation.body !== undefined };
      });
    const socketCredentials = (): Credentials => ({
      publishable: world.main.publishableKey,
      secret: world.main.secretKey,
      player: world.main.players[1]!.accessToken,
      operator: OPERATOR_TOKEN,
    });

    it('generates schema-valid requests that the document accepts, for every operation', () => {
      assert.ok(operations.length >= 40, `the document lists ${operations.length} operations`);
      assert.equal(t.config.bodyLimitBytes, BODY_LIMIT_BYTES, 'the hostile bodies are sized for this body limit');
      const hints = worldHints(world);
      for (const operation of operations) {
        const samples = fc.sample(requestArbitrary(operation, 'secret', hints, { publishable: 'p', secret: 's', player: 'x', operator: 'o' }), { numRuns: 60, seed: SEED });
        const valid = samples.filter((request) => request.broken.length === 0);
        assert.ok(valid.length > 0, `${operation.id}: no schema-valid sample`);
        for (const request of valid) assert.ok(bodySatisfiesSchema(operation, request.payload), `${operation.id}: generated an invalid body ${request.bodyLabel}`);
      }
    });

    it(`sends ${runs}+ fuzzed requests, every operation × every credential kind, and none breaks an invariant`, { timeout: 20 * 60_000 }, async (test) => {
      const pairs = operations.length * CREDENTIAL_KINDS.length;
      const tally = newTally();
      const campaign: Campaign = {
        app: t.app,
        world,
        operations,
        hints: worldHints(world),
        operatorGuard: operatorPathGuard(world),
        // Each database gets its own sequence (FUZZ_SEED still replays both).
        seed: SEED + index,
        replay: `FUZZ_SEED=${SEED}`,
        admitted: new Set(),
        only: ONLY,
        requestTimeoutMs: t.config.requestTimeoutMs,
        tally,
        serverErrors: (requestId) => t.logs.lines.filter((line) => line.includes(requestId) && /"level":"(error|fatal)"/.test(line)),
      };
      test.diagnostic(`FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} (${runs} here, over ${pairs} operation × credential pairs)`);
      const started = Date.now();
      const failures = await runCampaign(campaign, runs, CONCURRENCY);
      const seconds = (Date.now() - started) / 1000;
      const statuses = [...tally.byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
      test.diagnostic(`${tally.requests} requests (+${tally.setupRequests} setup) in ${seconds.toFixed(1)} s; schema-valid ${tally.schemaValid}, broken ${tally.broken}`);
      test.diagnostic(`by kind: ${JSON.stringify(tally.byKind)}; ${campaign.admitted.size} pairs admitted`);
      test.diagnostic(`by status: ${statuses}`);
      test.diagnostic(`slowest: ${Math.round(tally.slowest.ms)} ms ${tally.slowest.request}`);

      assert.deepEqual(failures.map((f) => f.pair), [], `FUZZ_SEED=${SEED}\n${failures.map((f) => f.message).join('\n\n')}`);
      // Coverage: every operation the document lists, with every credential kind (FUZZ_ONLY narrows it).
      const missing = operations
        .flatMap((operation) => CREDENTIAL_KINDS.map((kind) => pairName(operation.id, kind)))
        .filter((pair) => (!ONLY || ONLY.has(pair)) && !tally.byPair.has(pair));
      assert.deepEqual(missing, [], 'operation × credential pairs never exercised');
      if (!ONLY) assert.ok(tally.requests >= runs, `${tally.requests} requests, wanted at least ${runs}`);
    });

    it(`answers ${wireRuns} raw-socket requests with wire faults inject() cannot send`, { timeout: 10 * 60_000 }, async (test) => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.server.address();
      assert.ok(address && typeof address === 'object');
      const credentials = socketCredentials();
      const targets = socketTargets(credentials);
      const faults = new Map<string, number>();
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      const started = Date.now();
      // One property per fault, so every fault is sent whatever the seed.
      for (const fault of WIRE_FAULTS) {
        const property = fc.asyncProperty(wireRequestArbitrary(fault, targets, credentials, CREDENTIAL_KINDS), async (request) => {
          faults.set(request.fault, (faults.get(request.fault) ?? 0) + 1);
          const answer = await rawRequest(address.port, request.bytes, t.config.requestTimeoutMs + 2_000);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          checkAnswer(`wire:${request.fault}`, answer, t.config.requestTimeoutMs, request.bytes.subarray(0, 5).toString('latin1') === 'HEAD ');
          assert.equal(answer.headers['x-injected'], undefined, 'a header smuggled into the answer');
          assert.match(answer.headers['x-request-id'] ?? '', /^[A-Za-z0-9._:-]{1,128}$/, 'X-Request-Id is missing or unsafe');
        });
        const seed = pairSeed(SEED + index, `wire:${fault}`);
        const details = await fc.check(property, { seed, numRuns: Math.ceil(wireRuns / WIRE_FAULTS.length) });
        if (!details.failed) continue;
        const [shrunk] = details.counterexample ?? [];
        failures.push(
          [
            `socket fuzz failed for ${fault} after ${details.numRuns} runs; replay: FUZZ_SEED=${SEED} (fast-check seed ${details.seed}, path "${details.counterexamplePath ?? ''}")`,
            `  request: ${shrunk ? describeWire(shrunk) : '(none)'}`,
            `  ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
          ].join('\n'),
        );
      }
      const sent = [...faults.values()].reduce((a, b) => a + b, 0);
      test.diagnostic(`${sent} socket requests in ${((Date.now() - started) / 1000).toFixed(1)} s; by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
      assert.deepEqual(failures, [], `FUZZ_SEED=${SEED}`);
      assert.ok(sent >= wireRuns, `${sent} socket requests, wanted at least ${wireRuns}`);
      assert.deepEqual(WIRE_FAULTS.filter((fault) => !faults.has(fault)), [], 'wire faults never sent');
    });

    it(`answers ${slowRuns} slow or stalled requests with an early refusal, a 408 or a close, within REQUEST_TIMEOUT_MS`, { timeout: 10 * 60_000 }, async (test) => {
      // Its own server on the same database, with a short deadline (and its own fleet identity and ports, so
      // it never reconciles the main server's game servers).
      const slow = await buildTestApp({
        db: database.db,
        env: {
          LOG_LEVEL: 'warn',
          ...LIFTED_BUDGETS,
          ...SMALL_FLEET,
          FLEET_LOCAL_BUFFER: '0',
          FLEET_LOCAL_NODE_ID: `fuzz-slow-${process.pid}-${index}`,
          FLEET_LOCAL_PORT_RANGE: `${28400 + index * 100}-${28499 + index * 100}`,
          REQUEST_TIMEOUT_MS: String(SLOW_TIMEOUT_MS),
        },
      });
      const credentials = socketCredentials();
      const targets = socketTargets(credentials);
      const requests = fc.sample(slowRequestArbitrary(targets, credentials, CREDENTIAL_KINDS), { numRuns: slowRuns, seed: SEED + index });
      // Every fault at least once, whatever the seed.
      for (const fault of SLOW_FAULTS) {
        if (requests.some((r) => r.fault === fault)) continue;
        requests.push(fc.sample(slowRequestArbitrary(targets, credentials, ['secret']).filter((r) => r.fault === fault), { numRuns: 1, seed: SEED })[0]!);
      }
      const failures: string[] = [];
      const byFault = new Map<string, number>();
      const byOutcome = new Map<string, number>();
      const started = Date.now();
      try {
        await slow.app.listen({ port: 0, host: '127.0.0.1' });
        const port = (slow.app.server.address() as { port: number }).port;
        const bound = SLOW_TIMEOUT_MS + SLOW_SLACK_MS;
        const queue = [...requests];
        const worker = async () => {
          for (let request = queue.shift(); request; request = queue.shift()) {
            byFault.set(request.fault, (byFault.get(request.fault) ?? 0) + 1);
            const outcome = await sendSlowly(port, request, bound);
            const label = outcome.answer ? String(outcome.answer.status) : outcome.closed ? 'closed' : 'held';
            byOutcome.set(label, (byOutcome.get(label) ?? 0) + 1);
            try {
              if (!outcome.answer && !outcome.closed) throw new Error(`neither answered nor closed within ${bound} ms`);
              if (outcome.answer) {
                checkAnswer(`slow:${request.fault}`, outcome.answer, bound, request.target.method === 'HEAD');
                // Early, any refusal the server could decide without the rest (401, 404, 413...); late, only 408.
                if (outcome.ms >= SLOW_TIMEOUT_MS && outcome.answer.status !== 408) throw new Error(`a late answer (${Math.round(outcome.ms)} ms) that is not 408`);
                if (outcome.answer.status < 400 && request.fault.includes('head')) throw new Error('a request whose head never ended was served');
              }
            } catch (error) {
              failures.push(`${describeSlow(request)}\n  ${label} after ${Math.round(outcome.ms)} ms: ${(error as Error).message}`);
            }
          }
        };
        await Promise.all(Array.from({ length: SLOW_CONCURRENCY }, worker));
      } finally {
        // A socket the server never lets go of makes close() wait: that is a finding too.
        await within(slow.close(), 30_000, 'app.close() after the slow pass');
      }
      test.diagnostic(`${requests.length} slow requests in ${((Date.now() - started) / 1000).toFixed(1)} s; by fault: ${JSON.stringify(Object.fromEntries(byFault))}; by outcome: ${JSON.stringify(Object.fromEntries(byOutcome))}`);
      assert.deepEqual(failures, [], `FUZZ_SEED=${SEED}`);
      assert.deepEqual(SLOW_FAULTS.filter((fault) => !byFault.has(fault)), [], 'slow faults never sent');
    });

    it('is alive afterwards, and tenant B is untouched', async () => {
      const health = await t.app.inject({ method: 'GET', url: '/v1/healthz' });
      assert.equal(health.statusCode, 200, health.body);
      const ready = await t.app.inject({ method: 'GET', url: '/v1/readyz' });
      assert.equal(ready.statusCode, 200, ready.body);
      assert.deepEqual(await tenantSnapshot(database.db, world.other.tenantId), otherTenantBefore);
    });
  });
}
