/**
 * The tenant-isolation fuzzer (issue 7). Tenant A (projects A1, A2) and tenant B (project B1) each hold one
 * of everything the API stores, marked with unique strings. Then, for every operation of the served OpenAPI
 * document and every credential of the attacker (publishable key, secret key, player token), requests aimed
 * at the victim's ids, names, keys and cursors are sent: tenant B against A1 and A2, then project A2
 * against A1. Every answer must be free of 5xx and of any victim value; the victim's rows, read as the
 * owner, must be byte-for-byte what they were. On PGlite with the memory cache; on PostgreSQL (with Redis
 * when REDIS_URL is set) too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { bearer, createPlayer, createTenant } from '../support/tenancy.js';
import { createCache, type CacheBackend } from '../../src/internal/cache/index.js';
import { attempt, Client, realtimeUrl } from '../realtime/helpers.js';
import { drivers, type AttackContext, type CredentialKind, type Variant } from './support/isolation-drivers.js';
import { mixedVariants, type OperationDoc, type SchemaNode } from './support/isolation-mixer.js';
import { LeakOracle, serverFault, snapshotDiff, snapshotRows, type SentRequest } from './support/isolation-oracle.js';
import { marker, seedProject, sharedNames, type ProjectWorld, type SharedNames } from './support/isolation-world.js';

const REDIS_URL = process.env.REDIS_URL;
const CREDENTIALS: CredentialKind[] = ['publishable', 'secret', 'player'];
const BUDGET = '100000000';
/**
 * Random mixes per operation and credential, on top of the hand-written variants, reproducible from the seed
 * (ISOLATION_FUZZ_SEED replays a run; ISOLATION_FUZZ_MIXES digs deeper than the default, which keeps
 * `npm test` within its time budget).
 */
const MIXES = Number(process.env.ISOLATION_FUZZ_MIXES ?? 4);
const SEED = Number(process.env.ISOLATION_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** Budgets lifted so every request reaches its handler (429s would hide what the handler does). */
const UNLIMITED = {
  RATE_LIMIT_PER_MIN: BUDGET,
  SECRET_KEY_RATE_LIMIT_PER_MIN: BUDGET,
  AUTH_RATE_LIMIT_PER_MIN: BUDGET,
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: BUDGET,
  AUTH_FAILURES_PER_EMAIL_IP: BUDGET,
  AUTH_FAILURES_PER_EMAIL: BUDGET,
  BAD_CREDENTIALS_PER_IP_PER_MIN: BUDGET,
};

interface DocumentedOperation {
  operationId?: string;
  parameters?: OperationDoc['parameters'];
  requestBody?: { content?: Record<string, { schema?: SchemaNode }> };
}

interface Tally {
  requests: number;
  victimReads: number;
  statuses: Record<string, number>;
  operations: Set<string>;
}

for (const [index, kind] of databaseKinds().entries()) {
  describe(`tenant isolation fuzz (${kind.name})`, () => {
    let started = 0;
    const withRedis = kind.name === 'postgres' && REDIS_URL !== undefined;
    const redisPrefix = `ggscale-test-${randomBytes(6).toString('hex')}:`;
    const tally: Tally = { requests: 0, victimReads: 0, statuses: {}, operations: new Set() };
    let database: TestDatabase;
    let cache: CacheBackend;
    let t: TestApp;
    let baseUrl: string;
    let shared: SharedNames;
    let a1: ProjectWorld;
    let a2: ProjectWorld;
    let b1: ProjectWorld;
    let documentOperations: Map<string, OperationDoc>;

    before(async () => {
      started = Date.now();
      database = await kind.create();
      cache = withRedis
        ? await createCache({ backend: 'redis', redisUrl: REDIS_URL, keyPrefix: `${redisPrefix}cache:` })
        : await createCache({ backend: 'memory' });
      t = await buildTestApp({
        db: database.db,
        cache,
        env: {
          ...UNLIMITED,
          ...(withRedis ? { CACHE_BACKEND: 'redis', REDIS_URL, LEADERBOARD_REDIS_KEY_PREFIX: `${redisPrefix}lb:` } : {}),
          // Game servers start only for allocations; the `default` fleet has no quota, so attackers' requests
          // for it never start the (slower) shipped echo server.
          FLEET_LOCAL_BUFFER: '0',
          FLEET_DEFAULT_MAX_ALLOCATIONS: '0',
          FLEET_LOCAL_PORT_RANGE: `${26100 + index * 200}-${26299 + index * 200}`,
          FLEET_ALLOCATION_WAIT_MS: '15000',
          // A loaded machine must not turn the victim's allocation Unhealthy (and its row Lost) mid-run.
          FLEET_LOCAL_HEALTH_TIMEOUT_MS: '600000',
          FLEET_LOCAL_START_TIMEOUT_MS: '60000',
          // The victim's already-exchanged refresh token stays inside the reuse grace window: the path that
          // hands a retried refresh its successor pair is the one an attacker would want.
          REFRESH_REUSE_GRACE_SECONDS: '300',
          // The victim's party outlives its leader's seeding socket for the whole run.
          PARTY_DISCONNECT_GRACE_SECONDS: '86400',
          ...(withRedis ? { PARTY_REDIS_KEY_PREFIX: `${redisPrefix}party:` } : {}),
        },
      });
      baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
        paths: Record<string, Record<string, DocumentedOperation>>;
      }>();
      documentOperations = new Map();
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          documentOperations.set(operation.operationId ?? `${method.toUpperCase()} ${path}`, {
            method: method.toUpperCase(),
            path,
            parameters: operation.parameters ?? [],
            body: operation.requestBody?.content?.['application/json']?.schema,
          });
        }
      }
      shared = sharedNames();
      const tenantAName = marker('ta');
      const tenantA = await createTenant(t.app, tenantAName);
      const tenantBName = marker('tb');
      const tenantB = await createTenant(t.app, tenantBName);
      a1 = await seedProject(t.app, tenantA, tenantAName, 'a1', shared);
      a2 = await seedProject(t.app, tenantA, tenantAName, 'a2', shared);
      b1 = await seedProject(t.app, tenantB, tenantBName, 'b1', shared);
    });

    after(async () => {
      await t?.close();
      if (!withRedis) await cache?.close();
      else {
        await cache?.close();
        const redis = new Redis(REDIS_URL);
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
        await redis.quit();
      }
      await database?.drop();
      const statuses = Object.entries(tally.statuses)
        .sort()
        .map(([code, n]) => `${code}:${n}`)
        .join(' ');
      console.log(
        `isolation fuzz (${kind.name}${withRedis ? ' + redis' : ''}): ${tally.operations.size} operations covered, ` +
          `${tally.requests} attacker requests (${statuses}) + ${tally.victimReads} victim reads, seed ${SEED}, ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    });

    it('has a driver for every operation of the served OpenAPI document (a new route cannot escape)', () => {
      assert.ok(documentOperations.size > 10, 'the document lists the API');
      const undriven = [...documentOperations.keys()].filter((id) => !drivers[id]);
      assert.deepEqual(undriven, [], `add a driver in test/reliability/support/isolation-drivers.ts for: ${undriven.join(', ')}`);
      for (const [id, driver] of Object.entries(drivers)) {
        const listed = documentOperations.get(id);
        assert.ok(listed, `driver ${id} names no operation of the document (stale?)`);
        assert.deepEqual({ method: driver.method, path: driver.path }, { method: listed.method, path: listed.path }, `driver ${id} drives the operation the document names`);
      }
    });

    /** Sends every variant of every operation with each of the attacker's credentials; returns the problems. */
    async function attack(attacker: ProjectWorld, victims: ProjectWorld[], oracle: LeakOracle): Promise<string[]> {
      const problems: string[] = [];
      const used = new Set<string>();
      const firstUse = (key: string) => !used.has(key) && Boolean(used.add(key));
      const credentialOf = async (cred: CredentialKind, variant: Variant): Promise<string | undefined> => {
        if (variant.auth === 'none') return undefined;
        if (cred === 'publishable') return attacker.project.publishableKey;
        if (cred === 'secret') return attacker.project.secretKey;
        if (variant.auth === 'fresh-player') return (await createPlayer(t.app, attacker.project)).accessToken;
        return attacker.bob.accessToken;
      };
      const send = async (operation: string, method: string, cred: CredentialKind, variant: Variant, where: string) => {
        const credential = await credentialOf(cred, variant);
        const payload = variant.payload === undefined || typeof variant.payload === 'string' ? variant.payload : JSON.stringify(variant.payload);
        const headers: Record<string, string> = {
          ...(payload !== undefined && typeof variant.payload === 'object' ? { 'content-type': 'application/json' } : {}),
          ...(credential ? bearer(credential) : {}),
          ...variant.headers,
        };
        const request: SentRequest = { method, url: variant.url, headers, ...(payload === undefined ? {} : { payload }) };
        const res: LightMyRequestResponse = await t.app.inject({ method, url: variant.url, headers, ...(payload === undefined ? {} : { payload }) });
        tally.requests++;
        tally.statuses[res.statusCode] = (tally.statuses[res.statusCode] ?? 0) + 1;
        tally.operations.add(operation);
        where = `${where} [${cred}] ${method} ${variant.url}`;
        const fault = serverFault(res);
        if (fault) problems.push(`${where}: ${fault}`);
        // Budgets are lifted: a 429 would mean the request never reached its handler. Fleet quotas are the
        // one documented 429 of a handler.
        if (res.statusCode === 429 && operation !== 'createAllocation') problems.push(`${where}: 429 ${res.body.slice(0, 200)}`);
        for (const leak of oracle.check(request, res)) problems.push(`${where}: leaked ${leak} (${res.statusCode})`);
        const unmet = variant.expect?.(res);
        if (unmet) problems.push(`${where}: ${unmet}`);
      };
      for (const victim of victims) {
        const pair = `${attacker.label}→${victim.label}`;
        // The victim re-warms every other operation (caches live for seconds; an operation takes well under one).
        for (const [index, [operation, driver]] of Object.entries(drivers).entries()) {
          if (index % 2 === 0) problems.push(...(await warmVictim(victim)));
          for (const cred of CREDENTIALS) {
            const ctx: AttackContext = { cred, attacker, victim, shared, firstUse };
            for (const variant of driver.variants(ctx)) await send(operation, driver.method, cred, variant, `${pair} ${operation}`);
          }
        }
        problems.push(...(await attackRealtime(attacker, victim, oracle)));
        // Then random mixes of both projects' values in every parameter and body field of every operation.
        for (const [index, [operation, doc]] of [...documentOperations].entries()) {
          if (index % 4 === 0) problems.push(...(await warmVictim(victim)));
          // Routes that may end the caller's session get a fresh player each time, as their driver does.
          const fresh = drivers[operation]?.variants({ cred: 'player', attacker, victim, shared, firstUse: () => false }).some((v) => v.auth === 'fresh-player');
          for (const [c, cred] of CREDENTIALS.entries()) {
            const ctx: AttackContext = { cred, attacker, victim, shared, firstUse: () => false };
            const seed = SEED + index * 7 + c;
            for (const variant of mixedVariants(doc, ctx, seed, MIXES)) {
              await send(operation, doc.method, cred, { ...variant, ...(fresh ? { auth: 'fresh-player' as const } : {}) }, `${pair} ${operation} (mix, seed ${seed})`);
            }
          }
        }
      }
      return problems;
    }

    /**
     * The victim reads its own data between the attacker's operations, so every cache on the way (boards,
     * rank indexes, credentials, settings) holds the victim's entries when the attacker names the same ids
     * and names: a cache keyed without the tenant would hand them over. Also checks the victim still has it all.
     */
    async function warmVictim(victim: ProjectWorld): Promise<string[]> {
      const { secretKey } = victim.project;
      const alice = victim.alice.accessToken;
      const reads: Array<[string, string]> = [
        [`/v1/leaderboards/${shared.board}`, secretKey],
        [`/v1/leaderboards/${shared.board}/scores?limit=100`, secretKey],
        [`/v1/leaderboards/${shared.board}/scores/${victim.alice.id}`, alice],
        [`/v1/leaderboards/${victim.names.board}/scores?around=${victim.bob.id}`, secretKey],
        [`/v1/storage/${shared.collection}/${shared.key}`, alice],
        [`/v1/storage/${shared.collection}/${shared.publicKey}?owner=${victim.alice.id}`, victim.bob.accessToken],
        [`/v1/storage/${shared.collection}?owner=${victim.alice.id}`, secretKey],
        [`/v1/fleet/fleets`, secretKey],
        [`/v1/fleet/allocations/${victim.allocationIds[1]}`, secretKey],
        ['/v1/auth/me', alice],
      ];
      const problems: string[] = [];
      for (const [url, credential] of reads) {
        const res = await t.app.inject({ method: 'GET', url, headers: bearer(credential) });
        tally.victimReads++;
        if (res.statusCode !== 200) problems.push(`${victim.label} lost access to its own ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
      return problems;
    }

    /** Real WebSockets with the attacker's credentials, sending frames that name the victim. */
    async function attackRealtime(attacker: ProjectWorld, victim: ProjectWorld, oracle: LeakOracle): Promise<string[]> {
      const problems: string[] = [];
      const where = `${attacker.label}→${victim.label} connectRealtime (WebSocket)`;
      tally.operations.add('connectRealtime');
      for (const credential of [attacker.project.publishableKey, attacker.project.secretKey]) {
        const outcome = await attempt(realtimeUrl(baseUrl, credential));
        tally.requests++;
        if (outcome instanceof Client) {
          problems.push(`${where}: an API key opened a player socket`);
          await outcome.close();
        } else if (outcome.status >= 500) problems.push(`${where}: ${outcome.status} ${outcome.body}`);
      }
      const client = await attempt(realtimeUrl(baseUrl), { headers: bearer(attacker.bob.accessToken) });
      tally.requests++;
      if (!(client instanceof Client)) return [...problems, `${where}: the attacker's own player could not connect: ${client.status} ${client.body}`];
      const frames = [
        { op: 'ping', id: victim.alice.id },
        { op: 'subscribe', id: 'sub', channel: victim.names.board, player_id: victim.alice.id, tenant_id: victim.project.tenantId, project_id: victim.project.projectId },
        { op: 'presence', id: 'who', player_id: victim.alice.id },
        'not json',
      ];
      const named = new Set([victim.alice.id, victim.project.tenantId, victim.project.projectId]);
      for (const frame of frames) {
        const reply = await client.request(frame);
        tally.requests++;
        for (const leak of oracle.leaksIn(JSON.stringify(reply), {}, named)) problems.push(`${where}: leaked ${leak} in ${JSON.stringify(reply)}`);
      }
      await client.close();
      return problems;
    }

    it('tenant B, with each of its credentials, reads and changes nothing of tenant A', async () => {
      const before = await snapshotRows(database.db, { tenantId: a1.project.tenantId });
      const problems = await attack(b1, [a1, a2], new LeakOracle([a1, a2]));
      problems.unshift(...snapshotDiff(before, await snapshotRows(database.db, { tenantId: a1.project.tenantId })).map((d) => `tenant A's rows changed: ${d}`));
      assert.deepEqual(problems.slice(0, 40), [], `${problems.length} problems`);
    });

    it('project A2, with each of its credentials, reads and changes nothing of project A1 (same tenant)', async () => {
      const scope = { tenantId: a1.project.tenantId, projectId: a1.project.projectId };
      const before = await snapshotRows(database.db, scope);
      const beforeB = await snapshotRows(database.db, { tenantId: b1.project.tenantId });
      // Nothing of B1 may reach A2 either (B1 is not the target here, but a cache keyed by name alone would
      // hand A2 whichever project's entry it holds).
      const problems = await attack(a2, [a1], new LeakOracle([a1, b1]));
      problems.unshift(
        ...snapshotDiff(before, await snapshotRows(database.db, scope)).map((d) => `project A1's rows changed: ${d}`),
        ...snapshotDiff(beforeB, await snapshotRows(database.db, { tenantId: b1.project.tenantId })).map((d) => `tenant B's rows changed: ${d}`),
      );
      assert.deepEqual(problems.slice(0, 40), [], `${problems.length} problems`);
    });

    it('the oracle does see A1\'s values when A1 itself asks (the fuzzer can fail)', async () => {
      const oracle = new LeakOracle([a1]);
      const own = async (url: string, credential: string) => {
        const request: SentRequest = { method: 'GET', url, headers: bearer(credential) };
        return oracle.check(request, await t.app.inject({ method: 'GET', url, headers: bearer(credential) }));
      };
      const seen = {
        object: await own(`/v1/storage/${a1.names.collection}/${a1.names.key}`, a1.alice.accessToken),
        listing: await own(`/v1/storage/${a1.names.collection}`, a1.alice.accessToken),
        scores: await own(`/v1/leaderboards/${shared.board}/scores`, a1.project.secretKey),
        allocation: await own(`/v1/fleet/allocations/${a1.allocationIds[1]}`, a1.project.secretKey),
        me: await own('/v1/auth/me', a1.alice.accessToken),
      };
      for (const [what, leaks] of Object.entries(seen)) assert.ok(leaks.length > 0, `${what}: the oracle must recognise A1's own data`);
    });

    it('never logs a key, token or password of tenant A', () => {
      const logs = t.logs.lines.join('\n');
      const secrets = [a1, a2].flatMap((p) => [
        p.project.publishableKey,
        p.project.secretKey,
        ...[p.alice, p.bob, p.carol].flatMap((player) => [player.accessToken, player.refreshToken, player.password ?? player.accessToken]),
      ]);
      assert.deepEqual(secrets.filter((secret) => logs.includes(secret)), []);
    });
  });
}
