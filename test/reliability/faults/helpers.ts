/** Shared set-up of the fault-injection suites: ggscale processes on a test's own services, and a client. */
import assert from 'node:assert/strict';
import { freePort, startGgscale, waitForStatus, type RunningProcess } from '../../support/process.js';
import { OPERATOR_TOKEN } from '../../support/tenancy.js';

/** The budgets are not under test here: lift them so a load is never answered 429. */
export const UNLIMITED = {
  RATE_LIMIT_PER_MIN: '100000000',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
  AUTH_RATE_LIMIT_PER_MIN: '100000000',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '100000000',
};

export interface Server extends RunningProcess {
  port: number;
}

/** Starts a ggscale node (no warm game servers, budgets lifted) and waits until it is ready. */
export async function startServer(env: Record<string, string>, port?: number): Promise<Server> {
  const chosen = port ?? (await freePort());
  const server = startGgscale(
    ['serve'],
    {
      GGSCALE_ADMIN_TOKEN: OPERATOR_TOKEN,
      GGSCALE_PUBLIC_URL: 'http://ggscale.test',
      FLEET_LOCAL_BUFFER: '0',
      LOG_LEVEL: 'warn',
      ...UNLIMITED,
      ...env,
    },
    chosen,
  );
  try {
    await waitForStatus(`${server.url}/v1/readyz`, 200, 45_000);
  } catch (error) {
    server.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${server.stderr.join('\n')}\n${server.stdout.slice(-20).join('\n')}`, { cause: error });
  }
  return Object.assign(server, { port: chosen });
}

/** SIGKILLs a node that a test left running (after hooks: never wait on a stuck process). */
export async function killServer(server: RunningProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
  /** When the request was sent and when its answer (or failure) arrived, in Date.now() ms. */
  startedAt: number;
  endedAt: number;
  /** Set instead of a status when no HTTP answer came (refused, reset, or aborted by the client's deadline). */
  error?: string;
}

export interface CallOptions {
  credential?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** The client gives up after this long: an answer that never comes is a hang, recorded as an error. */
  deadlineMs?: number;
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.credential) headers.authorization = `Bearer ${options.credential}`;
  let body: string | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const startedAt = Date.now();
  try {
    const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(options.deadlineMs ?? 20_000) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text, startedAt, endedAt: Date.now() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: 0, headers: new Headers(), body: '', startedAt, endedAt: Date.now(), error: cause ?? (error as Error).name };
  }
}

export function expectStatus(answer: Answer, status: number, what: string): Record<string, unknown> {
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.error ?? ''} ${answer.body}`);
  return answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {};
}

/** The documented 503: problem JSON of type unavailable, with a Retry-After in whole seconds. */
export function assertUnavailable(answer: Answer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.error ?? ''} ${answer.body}`);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/, `${what}: content-type`);
  assert.match(answer.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what}: Retry-After`);
  const problem = JSON.parse(answer.body) as { type: string; status: number };
  assert.equal(problem.type, 'https://ggscale.dev/problems/unavailable', what);
  assert.equal(problem.status, 503, what);
}

export interface Project {
  tenantId: string;
  projectId: string;
  publishable: string;
  secret: string;
}

let counter = 0;

/** A tenant, a project and its two keys, through the operator API of a running node. */
export async function createProjectOver(base: string): Promise<Project> {
  const operator = { credential: OPERATOR_TOKEN };
  const tenant = expectStatus(await call(base, 'POST', '/v1/admin/tenants', { ...operator, body: { name: `faults-${process.pid}-${++counter}` } }), 201, 'tenant');
  const project = expectStatus(await call(base, 'POST', `/v1/admin/tenants/${String(tenant.id)}/projects`, { ...operator, body: { name: 'game' } }), 201, 'project');
  const key = async (kind: string) =>
    String(expectStatus(await call(base, 'POST', `/v1/admin/projects/${String(project.id)}/api-keys`, { ...operator, body: { kind, name: kind } }), 201, kind).key);
  return { tenantId: String(tenant.id), projectId: String(project.id), publishable: await key('publishable'), secret: await key('secret') };
}

export interface Player {
  id: string;
  accessToken: string;
}

export async function signInDevice(base: string, project: Project, deviceId: string): Promise<Player> {
  const answer = await call(base, 'POST', '/v1/auth/device', { credential: project.publishable, body: { device_id: deviceId } });
  assert.ok(answer.status === 200 || answer.status === 201, `device sign-in: ${answer.status} ${answer.body}`);
  const body = JSON.parse(answer.body) as { player: { id: string }; access_token: string };
  return { id: body.player.id, accessToken: body.access_token };
}

/** Tallies statuses for the report (e.g. {"201": 412, "503": 96}). */
export function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.error ? `error:${answer.error}` : String(answer.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
