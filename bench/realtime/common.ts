/**
 * What the realtime sections share: flags, server processes (ggscale nodes under a raised `ulimit -n`, the
 * bare broadcast baseline), forked client processes (bench/realtime/member.ts), player set-up, and latency
 * summaries.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ADMIN_TOKEN, call, createProject, deviceSignIn, type BenchProject } from '../support/api.js';
import { freePort, ROOT } from '../support/process.js';
import type { CollectedReport, CollectOrder, OpenedReport, OpenOrder, SendOrder, SentReport } from './member.js';

/** `--name=value` or `--name value` (npm run bench passes only the `=` form through). */
export function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const eq = args.find((arg) => arg.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

export function numberFlag(name: string, fallback: number): number {
  const value = flag(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a number, not ${value}`);
  return parsed;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const MiB = 1024 * 1024;

/** Descriptors a server may open: 65,536 when we may raise it that far, else the hard limit. */
export function fdLimit(): number {
  if (spawnSync('bash', ['-c', 'ulimit -n 65536'], { stdio: 'ignore' }).status === 0) return 65_536;
  return Number(spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim());
}

export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) * 1024;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  stderr: string[];
  /** A ggscale node's log file (warnings and errors). */
  log?: string;
}

/** node --import tsx <script> under `ulimit -n fds`, with only `env` (and PATH/HOME) in its environment. */
export function startProcess(script: string, args: string[], env: Record<string, string>, fds: number, port = 0): Proc {
  const command = `ulimit -n ${fds} && exec "${process.execPath}" --import tsx ${script} ${args.join(' ')}`;
  const child = spawn('bash', ['-c', command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderr.push(...chunk.toString().split('\n').filter(Boolean));
    if (stderr.length > 40) stderr.splice(0, stderr.length - 40);
  });
  return { child, pid: child.pid!, port, url: `http://127.0.0.1:${port}`, stderr };
}

export async function stopProcess(proc: Proc): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Every process started here, stopped on the way out (success, failure or Ctrl-C). */
export const running = new Set<Proc>();

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((proc) => stopProcess(proc)));
  running.clear();
}

async function waitReady(proc: Proc, path: string, deadlineMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    if (proc.child.exitCode !== null) throw new Error(`server exited (${proc.child.exitCode}): ${proc.stderr.join('\n')}`);
    try {
      if ((await fetch(proc.url + path)).status === 200) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${proc.url}${path} not ready within ${deadlineMs} ms: ${proc.stderr.join('\n')}`);
}

/** A ggscale node (`ggscale serve`, as in production) with `env`; resolves once /v1/readyz is 200. */
export async function startNode(env: Record<string, string>, fds: number): Promise<Proc> {
  const port = await freePort();
  const proc = startProcess('src/cli.ts', ['serve'], { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', GGSCALE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, ...env }, fds, port);
  // The node's log (warnings and errors only) goes to a file, named in the error when something fails
  // (removed when the section stops the node; kept when the run fails).
  const log = createWriteStream(join(tmpdir(), `ggscale-bench-realtime-${port}.log`));
  proc.child.stdout!.pipe(log);
  proc.stderr.push(`(log: ${log.path as string})`);
  proc.log = log.path as string;
  running.add(proc);
  await waitReady(proc, '/v1/readyz', 90_000);
  return proc;
}

/** The bare broadcast server (bench/realtime/broadcast-server.ts). */
export async function startBroadcastBaseline(fds: number): Promise<Proc> {
  const proc = startProcess('bench/realtime/broadcast-server.ts', [], {}, fds);
  running.add(proc);
  proc.port = await new Promise<number>((resolve, reject) => {
    proc.child.stdout!.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { port: number }).port));
    proc.child.once('exit', () => reject(new Error(`baseline server exited: ${proc.stderr.join('\n')}`)));
  });
  proc.url = `http://127.0.0.1:${proc.port}`;
  return proc;
}

export const wsUrl = (proc: Proc, path = '/v1/realtime') => `ws://127.0.0.1:${proc.port}${path}`;

/**
 * Limits lifted for the bench (caps, message budgets, sign-in and request rates), so the figures measure
 * delivery rather than the budgets that protect a real deployment.
 */
export const LIFTED_LIMITS: Record<string, string> = {
  WS_MAX_CONNECTIONS_PER_PLAYER: '0',
  WS_MAX_CONNECTIONS_PER_TENANT: '0',
  WS_MESSAGES_PER_SECOND: '1000000',
  WS_MESSAGE_BURST: '10000000',
  CHAT_MESSAGES_PER_MIN: '1000000',
  CHANNEL_MAX_MEMBERS: '100000',
  PRESENCE_UPDATES_PER_MIN: '0',
  FRIEND_REQUESTS_PER_HOUR: '1000000',
  RATE_LIMIT_PER_MIN: '0',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '0',
  AUTH_RATE_LIMIT_PER_MIN: '0',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '0',
};

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Runs `work` over `items`, `concurrency` at a time, in order of the results. */
export async function pooled<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

export interface Player {
  id: string;
  token: string;
}

/** A project and `count` players signed in with a device id each (over HTTP, as a game would). */
export async function makePlayers(base: string, name: string, count: number): Promise<{ project: BenchProject; players: Player[] }> {
  const project = await createProject(base, name);
  const players = await pooled(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const signedIn = await deviceSignIn(base, project, `bench-${name}-${i}-0123456789abcdef`);
    return { id: signedIn.player.id, token: signedIn.access_token };
  });
  return { project, players };
}

export { call };

type Reply = OpenedReport | SentReport | CollectedReport | { type: 'closed' } | { type: 'failed'; error: string };

/** One forked client process (bench/realtime/member.ts). */
export class Client {
  private constructor(
    readonly child: ChildProcess,
    readonly localAddress: string,
  ) {}

  static async start(localAddress: string): Promise<Client> {
    const child = fork(join(ROOT, 'bench/realtime/member.ts'), { stdio: 'inherit', execArgv: ['--import', 'tsx'] });
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', () => reject(new Error('client process exited before it was ready')));
    });
    return new Client(child, localAddress);
  }

  private ask<T>(order: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (reply: Reply) => (reply.type === 'failed' ? reject(new Error(`client: ${reply.error}`)) : resolve(reply as T)));
      this.child.send(order as object);
    });
  }

  open(order: Omit<OpenOrder, 'type' | 'localAddress' | 'concurrency'> & { concurrency?: number }): Promise<OpenedReport> {
    return this.ask({ type: 'open', localAddress: this.localAddress, concurrency: 16, ...order });
  }

  send(order: Omit<SendOrder, 'type'>): Promise<SentReport> {
    return this.ask({ type: 'send', ...order });
  }

  collect(order: Omit<CollectOrder, 'type'>): Promise<CollectedReport> {
    return this.ask({ type: 'collect', ...order });
  }

  close(): Promise<unknown> {
    return this.ask({ type: 'close' });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'exit' });
    await exited;
  }
}

/** `count` client processes, the i-th from 127.0.0.<first + i>. */
export async function startClients(count: number, first: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => Client.start(`127.0.0.${first + i}`)));
}

/** Fails loudly when sockets did not open (a bench over fewer members than it says is worse than none). */
export function checkOpened(what: string, reports: OpenedReport[], expected: number): void {
  const opened = reports.reduce((sum, r) => sum + r.opened, 0);
  if (opened < expected) {
    const error = reports.find((r) => r.firstError)?.firstError;
    throw new Error(`${what}: ${opened} of ${expected} sockets opened (first error: ${error ?? 'none'})`);
  }
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarise(values: number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]! };
}

export const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '—');
export const triple = (s: Summary) => `p50 ${ms(s.p50)} / p99 ${ms(s.p99)} / max ${ms(s.max)}`;

/** Warnings and errors in the nodes' logs past `from` (bytes per file), by message: what a section caused. */
export function logTally(nodes: Proc[], from: Map<string, number>): Map<string, number> {
  const tally = new Map<string, number>();
  for (const node of nodes) {
    if (!node.log) continue;
    const text = readFileSync(node.log, 'utf8');
    for (const line of text.slice(from.get(node.log) ?? 0).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; err?: { message?: string } };
        const key = `${entry.level ?? '?'}: ${entry.msg ?? '?'}${entry.err?.message ? ` (${entry.err.message.slice(0, 90)})` : ''}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      } catch {
        // a partial line
      }
    }
    from.set(node.log, text.length);
  }
  return tally;
}
