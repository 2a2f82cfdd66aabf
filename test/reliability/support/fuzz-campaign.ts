/**
 * Runs the bad-input fuzz through app.inject(): one fast-check property per (operation, credential kind),
 * each with its own seed derived from FUZZ_SEED, so a failure names the pair and the seed that replay it.
 * Counts every request it sends, by kind, pair, status and mode.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { OPERATOR_TOKEN, bearer } from '../../support/tenancy.js';
import { checkAnswer, within, type Answer } from './fuzz-invariants.js';
import { CREDENTIAL_KINDS, describeRequest, requestArbitrary, type CredentialKind, type Credentials, type FuzzRequest, type PathGuard } from './fuzz-request.js';
import { reseed, type FuzzWorld } from './fuzz-world.js';
import type { Hints } from './json-schema-arbitrary.js';
import type { Operation } from './openapi-operations.js';

/** Operations that end the caller's session: a player token is made for each such request. */
const SESSION_ENDING = new Set(['logout', 'revokeAllSessions', 'changePassword', 'linkEmail']);

export interface Tally {
  requests: number;
  setupRequests: number;
  byKind: Record<string, number>;
  byPair: Map<string, number>;
  byStatus: Map<number, number>;
  schemaValid: number;
  broken: number;
  slowest: { ms: number; request: string };
}

export function newTally(): Tally {
  return { requests: 0, setupRequests: 0, byKind: {}, byPair: new Map(), byStatus: new Map(), schemaValid: 0, broken: 0, slowest: { ms: 0, request: '' } };
}

export interface Campaign {
  app: FastifyInstance;
  world: FuzzWorld;
  operations: Operation[];
  hints: Hints;
  operatorGuard: PathGuard;
  seed: number;
  /** What to set to replay this run (printed with every failure). */
  replay: string;
  /** Pairs whose credential the route admits (filled by the survey). */
  admitted: Set<string>;
  /** Only these "operationId:kind" pairs (FUZZ_ONLY), or all. */
  only: Set<string> | undefined;
  requestTimeoutMs: number;
  tally: Tally;
  /** Why a failing answer happened, from the server's log (error lines carry the request id). */
  serverErrors: (requestId: string) => string[];
}

export const pairName = (operation: string, kind: CredentialKind) => `${operation}:${kind}`;

/** A 32-bit seed per pair, stable across runs and independent of which other pairs run. */
export function pairSeed(seed: number, pair: string): number {
  return createHash('sha256').update(`${seed}:${pair}`).digest().readInt32LE(0);
}

async function send(campaign: Campaign, request: FuzzRequest): Promise<Answer> {
  const started = performance.now();
  const res = await within(
    campaign.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, payload: request.payload }),
    campaign.requestTimeoutMs + 2_000,
    describeRequest(request),
  );
  return { status: res.statusCode, headers: res.headers, body: res.body, ms: performance.now() - started };
}

async function disposablePlayerToken(campaign: Campaign): Promise<string> {
  campaign.tally.setupRequests++;
  const deviceId = `fuzz-disposable-${process.pid}-${campaign.tally.setupRequests}-0123456789`;
  const res = await campaign.app.inject({ method: 'POST', url: '/v1/auth/device', headers: bearer(campaign.world.main.publishableKey), payload: { device_id: deviceId } });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`disposable player: ${res.statusCode} ${res.body}`);
  return res.json<{ access_token: string }>().access_token;
}

function record(tally: Tally, request: FuzzRequest, answer: Answer): void {
  tally.requests++;
  tally.byKind[request.kind] = (tally.byKind[request.kind] ?? 0) + 1;
  const pair = pairName(request.operation, request.kind);
  tally.byPair.set(pair, (tally.byPair.get(pair) ?? 0) + 1);
  tally.byStatus.set(answer.status, (tally.byStatus.get(answer.status) ?? 0) + 1);
  if (request.broken.length === 0) tally.schemaValid++;
  else tally.broken++;
  if (answer.ms > tally.slowest.ms) tally.slowest = { ms: answer.ms, request: describeRequest(request).slice(0, 300) };
}

export interface PairFailure {
  pair: string;
  message: string;
}

/** One property: `runs` requests of one (operation, kind) pair. Returns a failure report, or undefined. */
async function runPair(campaign: Campaign, work: PairWork, credentials: Credentials): Promise<PairFailure | undefined> {
  const { operation, kind, phase, runs } = work;
  const pair = pairName(operation.id, kind);
  const seed = pairSeed(campaign.seed, `${pair}:${phase}`);
  const guard = kind === 'operator' ? campaign.operatorGuard : undefined;
  let touchedSeededRows = false;
  const property = fc.asyncProperty(requestArbitrary(operation, kind, campaign.hints, credentials, guard), async (generated: FuzzRequest) => {
    let request = generated;
    if (kind === 'player' && SESSION_ENDING.has(operation.id)) {
      request = { ...request, headers: { ...request.headers, authorization: `Bearer ${await disposablePlayerToken(campaign)}` } };
    }
    const answer = await send(campaign, request);
    record(campaign.tally, request, answer);
    // Admitted: a schema-valid request got past the auth hook (which answers 401/403 before anything else).
    if (request.broken.length === 0 && answer.status !== 401 && answer.status !== 403) campaign.admitted.add(pair);
    if (request.method === 'DELETE' && answer.status < 300) touchedSeededRows = true;
    try {
      checkAnswer(operation.id, answer, campaign.requestTimeoutMs, request.method === 'HEAD');
    } catch (error) {
      const requestId = String(answer.headers['x-request-id'] ?? '');
      const logged = campaign.serverErrors(requestId);
      if (logged.length > 0 && error instanceof Error) error.message += `\n  server log: ${logged.join('\n  ').slice(0, 2000)}`;
      throw error;
    }
  });
  // The survey starts with one schema-valid request, so whether the route admits this credential is known.
  const arbitrary = requestArbitrary(operation, kind, campaign.hints, credentials, guard);
  const examples = phase === 'survey' ? fc.sample(arbitrary.filter((r) => r.broken.length === 0), { numRuns: 1, seed }).map((r) => [r] as [FuzzRequest]) : [];
  const details = await fc.check(property, { seed, numRuns: runs, examples });
  if (touchedSeededRows) await reseed(campaign.app, campaign.world.main, true);
  if (!details.failed) return undefined;
  const [shrunk] = details.counterexample ?? [];
  const message = [
    `bad-input fuzz failed for ${pair} (${phase} phase) after ${details.numRuns} runs (shrunk ${details.numShrinks} times).`,
    `  replay: ${campaign.replay} FUZZ_ONLY=${pair} (fast-check seed ${details.seed}, path "${details.counterexamplePath ?? ''}")`,
    `  request: ${shrunk ? describeRequest(shrunk) : '(none)'}`,
    `  ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
  ].join('\n');
  return { pair, message };
}

interface PairWork {
  operation: Operation;
  kind: CredentialKind;
  /** 'survey': a few requests for every pair; 'deep': the rest of the budget, for pairs the server admits. */
  phase: 'survey' | 'deep';
  runs: number;
}

async function runAll(campaign: Campaign, work: PairWork[], concurrency: number, credentials: Credentials): Promise<PairFailure[]> {
  const queue = [...work];
  const failures: PairFailure[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const failure = await runPair(campaign, next, credentials);
      if (failure) failures.push(failure);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

/**
 * Every (operation, kind) pair, a few at a time, in two phases: a survey of every pair (a fifth of the
 * budget), then the rest spread over the pairs whose credential the route admits (anything but 401/403),
 * where requests reach handlers. Returns the failures (the run goes on past one).
 */
export async function runCampaign(campaign: Campaign, totalRuns: number, concurrency: number): Promise<PairFailure[]> {
  const { world } = campaign;
  const credentials: Credentials = {
    publishable: world.main.publishableKey,
    secret: world.main.secretKey,
    player: world.main.players[0]!.accessToken,
    operator: OPERATOR_TOKEN,
  };
  const all = campaign.operations.flatMap((operation) => CREDENTIAL_KINDS.map((kind) => ({ operation, kind })));
  const selected = all.filter(({ operation, kind }) => !campaign.only || campaign.only.has(pairName(operation.id, kind)));
  const surveyRuns = Math.max(4, Math.ceil(totalRuns / 5 / all.length));
  const failures = await runAll(campaign, selected.map((p) => ({ ...p, phase: 'survey', runs: surveyRuns })), concurrency, credentials);
  const admitted = selected.filter(({ operation, kind }) => campaign.admitted.has(pairName(operation.id, kind)));
  const left = totalRuns - surveyRuns * all.length;
  // Under FUZZ_ONLY a pair gets more deep runs than a full run gives it (dozens of pairs are admitted
  // there), so the failing run of the same seed is reached again.
  const deepRuns = Math.max(surveyRuns, Math.ceil(left / (campaign.only ? 10 : Math.max(1, admitted.length))));
  failures.push(...(await runAll(campaign, admitted.map((p) => ({ ...p, phase: 'deep', runs: deepRuns })), concurrency, credentials)));
  return failures;
}
