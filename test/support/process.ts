/** Starts ggscale as a real process (the way a user does) and talks to it over a real socket. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  url: string;
}

export function startGgscale(args: string[], env: Record<string, string>, port?: number): RunningProcess {
  // The PostgreSQL client the run chose (test/support/db.ts) reaches the servers too, unless a test names one.
  const driver = process.env.DATABASE_DRIVER ? { DATABASE_DRIVER: process.env.DATABASE_DRIVER } : {};
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...driver, ...env, ...(port ? { PORT: String(port), HOST: '127.0.0.1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let outBuffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    outBuffer += chunk.toString();
    const lines = outBuffer.split('\n');
    outBuffer = lines.pop()!;
    stdout.push(...lines);
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(...chunk.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (outBuffer) stdout.push(outBuffer);
      resolve(code);
    }),
  );
  return { child, stdout, stderr, exited, url: `http://127.0.0.1:${port ?? 0}` };
}

/** Polls `url` until it answers `status`; resolves with the time it took. */
export function waitForStatus(url: string, status: number, deadlineMs: number): Promise<number> {
  const answers = async () => {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === status;
    } catch {
      return false; // not listening yet
    }
  };
  return eventually(answers, deadlineMs, `${url} answering ${status}`);
}

export async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startGgscale(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') };
}
