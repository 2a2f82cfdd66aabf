/**
 * What must hold for every answer, whatever was sent (docs/api/conventions.md): no 5xx but a documented 503,
 * every 4xx (and that 503) RFC 9457 problem JSON with the request id, a 401 that says how to authenticate
 * (WWW-Authenticate), a 405 that says what is allowed (Allow), an answer within the request timeout, and
 * nothing written onto Object.prototype (the fuzzer runs in the server's own process).
 */
import { PROBLEM_BASE } from '../../../src/http/problem.js';

/** Operations that may answer 503 (docs/api/conventions.md): no Ready game server; a full password-hash queue. */
export const DOCUMENTED_503 = new Set(['createAllocation', 'signup', 'login', 'changePassword', 'linkEmail']);

const METHOD = '(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)';
const ALLOW = new RegExp(`^(${METHOD}(, ${METHOD})*)?$`);

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  ms: number;
}

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function fail(answer: Answer, why: string): never {
  const type = String(answer.headers['content-type'] ?? '(none)');
  throw new InvariantViolation(`${why}\n  answered ${answer.status} in ${Math.round(answer.ms)} ms, content-type ${type}: ${answer.body.slice(0, 600)}`);
}

/** `bodiless`: the answer to a HEAD request, whose problem is told by its status and headers alone. */
export function checkAnswer(operation: string, answer: Answer, timeoutMs: number, bodiless = false): void {
  if (answer.ms >= timeoutMs) fail(answer, `no answer within the request timeout (${timeoutMs} ms)`);
  if (answer.status >= 500 && !(answer.status === 503 && DOCUMENTED_503.has(operation))) fail(answer, `a ${answer.status} that the API does not document`);
  if (answer.status === 503 && answer.headers['retry-after'] === undefined) fail(answer, 'a 503 without Retry-After');
  // RFC 9110 §15.5.2 and RFC 6750 §3: the bearer challenge, with invalid_token when a credential was refused.
  if (answer.status === 401 && !/^Bearer realm="ggscale"(, error="invalid_token")?$/.test(String(answer.headers['www-authenticate'] ?? ''))) {
    fail(answer, 'a 401 without WWW-Authenticate: Bearer realm="ggscale"');
  }
  // RFC 9110 §15.5.6: a 405 lists the methods the target serves (empty where none does, e.g. a CONNECT target).
  if (answer.status === 405 && !ALLOW.test(String(answer.headers.allow ?? '-'))) {
    fail(answer, `a 405 whose Allow header is missing or malformed: ${String(answer.headers.allow)}`);
  }
  if (answer.status >= 400) checkProblem(answer, bodiless);
  if (Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')) fail(answer, 'Object.prototype was polluted');
}

/** RFC 9457 problem JSON: content type, type/title/status/request_id, the status equal to the HTTP one. */
export function checkProblem(answer: Answer, bodiless = false): void {
  const type = String(answer.headers['content-type'] ?? '');
  if (!/^application\/problem\+json(;|$)/.test(type)) fail(answer, 'an error that is not application/problem+json');
  if (bodiless) {
    if (answer.body !== '') fail(answer, 'a body in the answer to HEAD');
    if (typeof answer.headers['x-request-id'] !== 'string') fail(answer, 'an error without X-Request-Id');
    return;
  }
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    fail(answer, 'a problem body that is not JSON');
  }
  if (typeof problem.type !== 'string' || !problem.type.startsWith(PROBLEM_BASE)) fail(answer, 'a problem without a ggscale type');
  if (typeof problem.title !== 'string' || problem.title === '') fail(answer, 'a problem without a title');
  if (problem.status !== answer.status) fail(answer, `a problem whose status ${String(problem.status)} is not the HTTP status`);
  if (typeof problem.request_id !== 'string' || problem.request_id === '') fail(answer, 'a problem without request_id');
  if (answer.headers['x-request-id'] !== undefined && answer.headers['x-request-id'] !== problem.request_id) {
    fail(answer, 'a problem whose request_id is not the X-Request-Id header');
  }
}

/** Resolves with the promise, or rejects once `ms` have passed (a hang is a finding, not a stuck run). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new InvariantViolation(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
