/**
 * Server processes for the benchmarks: spawned with a clean environment (nothing leaks in from the
 * caller's DATABASE_URL etc.), polled over node:http, and stopped with SIGTERM and waited for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** The last lines of stderr, for error messages. */
  stderr: string[];
  exited: Promise<number | null>;
  /** performance.now() just before spawn(). */
  spawnedAt: number;
}

export interface SpawnOptions {
  /** Arguments to node, e.g. ['dist/cli.js', 'serve'] or ['--import', 'tsx', 'bench/support/x.ts']. */
  args: string[];
  env?: Record<string, string>;
  port?: number;
  /** Where stdout (the server's JSON logs) goes; discarded by default, as a log shipper would take it. */
  stdoutFile?: string;
}

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const out = options.stdoutFile ? openSync(options.stdoutFile, 'a') : 'ignore';
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  // BENCH_CPU_PROF_DIR=dir: every server writes a V8 CPU profile there when it exits (read it with
  // `node --import tsx bench/support/profile-top.ts <file>`).
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...profile, ...options.args], { cwd: ROOT, env, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(...chunk.toString().split('\n').filter(Boolean));
    if (stderr.length > 50) stderr.splice(0, stderr.length - 50);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, url: `http://127.0.0.1:${port}`, stderr, exited, spawnedAt };
}

/** One GET; resolves to the status, or 0 when the connection failed. */
export function probe(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('error', () => resolve(0));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Polls url every intervalMs until it answers `status`; resolves to performance.now() at that answer.
 * Fails when the process exits first or the deadline passes.
 */
export async function waitForStatus(server: ServerProcess, path: string, status = 200, deadlineMs = 30_000, intervalMs = 2): Promise<number> {
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  for (;;) {
    const got = await probe(server.url + path);
    if (got === status) return performance.now();
    if (exitCode !== undefined) throw new Error(`server exited (${exitCode}) before ${path} answered ${status}: ${server.stderr.join('\n')}`);
    if (performance.now() - server.spawnedAt > deadlineMs) {
      throw new Error(`${path} did not answer ${status} within ${deadlineMs} ms (last ${got}): ${server.stderr.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** SIGTERM, then wait; SIGKILL after the grace period (and say so: a server that ignores SIGTERM is a bug). */
export async function stop(server: ServerProcess, graceMs = 15_000): Promise<number | null> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.child.exitCode;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`  warning: pid ${server.child.pid} ignored SIGTERM for ${graceMs} ms; killing it`);
    server.child.kill('SIGKILL');
  }, graceMs);
  try {
    return await server.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops every server started through `track`, on success, failure or Ctrl-C. */
export class ServerPool {
  private readonly servers = new Set<ServerProcess>();

  constructor() {
    const onSignal = () => {
      void this.stopAll().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  async start(options: SpawnOptions): Promise<ServerProcess> {
    const server = await spawnServer(options);
    this.servers.add(server);
    void server.exited.then(() => this.servers.delete(server));
    return server;
  }

  async stop(server: ServerProcess): Promise<void> {
    await stop(server);
    this.servers.delete(server);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers].map((server) => stop(server)));
    this.servers.clear();
  }
}
