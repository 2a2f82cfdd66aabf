/**
 * Section `idle`: idle WebSocket connections held by ONE ggscale node and its RSS, and connections accepted
 * per second, each beside a bare `ws` server holding the same number of idle connections in the same run
 * (bench/realtime/baseline-server.ts). Goal: 20,000 idle connections in ≤ 1 GiB RSS, with session resume on
 * (the default), each connection having received its welcome frame and resume token. A third phase holds
 * the same connections with resume off (WS_RESUME_WINDOW_SECONDS=0), to show what the sessions' resume state
 * costs when idle.
 *
 * Each server runs under `ulimit -n` raised as far as the hard limit allows (a socket is a file
 * descriptor); when the hard limit is below the goal, the run holds as many as fit and says so. Clients are
 * several processes, each from its own loopback address (127.0.0.2, ...), so no address runs out of
 * ephemeral ports. ggscale runs as in production on PostgreSQL (BENCH_DATABASE_URL, default the local server;
 * a throwaway database) or with --embedded on PGlite, whose in-process Postgres alone takes hundreds of MiB;
 * memory cache backend, the default cap per tenant (1,000, so connections are spread over several tenants)
 * and 100 per player, with leases and heartbeats on.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ADMIN_TOKEN } from '../support/api.js';
import { createBenchDatabase, PG_BASE_URL } from '../support/pg.js';
import { ROOT } from '../support/process.js';
import { Report, infoRow, throughputRow, type Row } from '../support/table.js';
import { fdLimit, flag, MiB, numberFlag, rssBytes, running, sleep, startNode, startProcess, stopProcess, type Proc } from './common.js';
import type { OpenOrder, OpenedReport } from './client.js';

const GOAL = 20_000;
const PER_TENANT = 1_000;
const PLAYERS_PER_TENANT = 10;

/** RSS once it has settled: sampled until two readings a second apart differ by < 1 %. */
async function settledRss(pid: number): Promise<number> {
  let previous = rssBytes(pid);
  for (let i = 0; i < 15; i++) {
    await sleep(1_000);
    const now = rssBytes(pid);
    if (Math.abs(now - previous) < previous * 0.01) return now;
    previous = now;
  }
  return previous;
}

interface Phase {
  held: number;
  failed: number;
  welcomed: number;
  firstError?: string;
  acceptedPerSecond: number;
  rssIdle: number;
  rssHeld: number;
}

async function api(base: string, path: string, credential: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export async function idleSection(report: Report): Promise<void> {
  const wanted = numberFlag('connections', GOAL);
  const clientCount = numberFlag('clients', 4);
  const embedded = process.argv.includes('--embedded');
  const compareResume = flag('resume-off') !== 'skip';

  /** Opens `count` connections from the client processes and measures the server meanwhile. */
  async function measure(pid: number, url: string, tokens: string[][], count: number, firstAddress: number, confirm?: () => Promise<number>): Promise<Phase> {
    const rssIdle = await settledRss(pid);
    const clients = Array.from({ length: clientCount }, () => fork(join(ROOT, 'bench/realtime/client.ts'), { stdio: 'inherit' }));
    try {
      // Started (and compiled by tsx) before the clock starts.
      await Promise.all(clients.map((client) => new Promise((resolve) => client.once('message', resolve))));
      const share = (i: number) => Math.floor(count / clientCount) + (i < count % clientCount ? 1 : 0);
      const started = performance.now();
      const reports = await Promise.all(
        clients.map(
          (client, i) =>
            new Promise<OpenedReport>((resolve) => {
              client.once('message', (message: OpenedReport) => resolve(message));
              const order: OpenOrder = { type: 'open', url, tokens: tokens[i] ?? [], count: share(i), localAddress: `127.0.0.${firstAddress + i}`, concurrency: 64 };
              client.send(order);
            }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const opened = reports.reduce((sum, r) => sum + r.opened, 0);
      const rssHeld = await settledRss(pid);
      const held = confirm ? await confirm() : opened;
      const firstError = reports.find((r) => r.firstError)?.firstError;
      return {
        held,
        failed: reports.reduce((sum, r) => sum + r.failed, 0),
        welcomed: reports.reduce((sum, r) => sum + r.welcomed, 0),
        acceptedPerSecond: opened / seconds,
        rssIdle,
        rssHeld,
        ...(firstError ? { firstError } : {}),
      };
    } finally {
      await Promise.all(
        clients.map((client) => new Promise((resolve) => {
          client.once('exit', resolve);
          client.send({ type: 'close' });
        })),
      );
    }
  }

  /** Tenants of PER_TENANT connections each, PLAYERS_PER_TENANT players each; tokens dealt to client processes. */
  async function players(base: string, count: number): Promise<string[][]> {
    const perClient: string[][] = Array.from({ length: clientCount }, () => []);
    let dealt = 0;
    for (let t = 0; t < Math.ceil(count / PER_TENANT); t++) {
      const tenant = await api(base, '/v1/admin/tenants', BENCH_ADMIN_TOKEN, { name: `bench-${t}` });
      const project = await api(base, `/v1/admin/tenants/${String(tenant.id)}/projects`, BENCH_ADMIN_TOKEN, { name: 'game' });
      const key = await api(base, `/v1/admin/projects/${String(project.id)}/api-keys`, BENCH_ADMIN_TOKEN, { kind: 'publishable', name: 'bench' });
      for (let p = 0; p < PLAYERS_PER_TENANT; p++) {
        const signedIn = await api(base, '/v1/auth/device', String(key.key), { device_id: `bench-device-${t}-${p}-0123456789` });
        perClient[dealt++ % clientCount]!.push(String(signedIn.access_token));
      }
    }
    return perClient;
  }

  async function ggscalePhase(count: number, fds: number, env: Record<string, string>): Promise<Phase> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ggscale-bench-rt-'));
    const database = embedded ? undefined : await createBenchDatabase();
    let server: Proc | undefined;
    try {
      server = await startNode({
        GGSCALE_DATA_DIR: dataDir,
        ...(database ? { DATABASE_URL: database.url } : {}),
        WS_MAX_CONNECTIONS_PER_PLAYER: String(Math.ceil(PER_TENANT / PLAYERS_PER_TENANT)),
        // The setup signs in a few hundred players from one address.
        AUTH_RATE_LIMIT_PER_MIN: '0',
        PROJECT_AUTH_RATE_LIMIT_PER_MIN: '0',
        ...env,
      }, fds);
      const base = server.url;
      const tokens = await players(base, count);
      const confirm = async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return Number(/^ggscale_ws_connections (\d+)/m.exec(text)?.[1] ?? NaN);
      };
      return await measure(server.pid, `ws://127.0.0.1:${server.port}/v1/realtime`, tokens, count, 2 + clientCount, confirm);
    } finally {
      if (server) {
        await stopProcess(server);
        running.delete(server);
        if (server.log) rmSync(server.log, { force: true });
      }
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  async function baselinePhase(count: number, fds: number): Promise<Phase> {
    const server = startProcess('bench/realtime/baseline-server.ts', [], {}, fds);
    running.add(server);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        server.child.stdout!.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { port: number }).port));
        server.child.once('exit', () => reject(new Error('baseline server exited')));
      });
      return await measure(server.pid, `ws://127.0.0.1:${port}/`, [], count, 2);
    } finally {
      await stopProcess(server);
      running.delete(server);
    }
  }

  const fds = fdLimit();
  // A server needs descriptors besides its sockets (listener, database, epoll, stdio...); PGlite's files more.
  const count = Math.min(wanted, fds - (embedded ? 400 : 150));
  report.note(`idle: open-file limit for the servers: ${fds}${fds < 65_536 ? ' (hard limit; could not raise it to 65,536)' : ''}`);
  if (count < wanted) report.note(`idle: holding ${count} connections instead of ${wanted}: that is what the file-descriptor limit allows`);
  if (wanted < GOAL) report.note(`idle: scaled down to ${wanted} connections (--connections; the goal is ${GOAL})`);
  report.note(`idle: ${clientCount} client processes, loopback addresses 127.0.0.2-${1 + 2 * clientCount}`);
  report.note(`idle: ggscale database: ${embedded ? 'embedded PGlite (in the same process)' : `PostgreSQL at ${new URL(PG_BASE_URL).host}`}, memory cache backend`);

  const baseline = await baselinePhase(count, fds);
  const ggscale = await ggscalePhase(count, fds, {});
  const resumeOff = compareResume ? await ggscalePhase(count, fds, { WS_RESUME_WINDOW_SECONDS: '0' }) : undefined;
  for (const [name, phase] of [['baseline', baseline], ['ggscale', ggscale], ['ggscale, resume off', resumeOff]] as const) {
    if (phase && phase.failed > 0) report.note(`idle: ${name}: ${phase.failed} connection(s) failed (first: ${phase.firstError})`);
  }

  const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const perConnection = (phase: Phase) => (phase.rssHeld - phase.rssIdle) / Math.max(1, phase.held);
  const projected = ggscale.rssIdle + perConnection(ggscale) * GOAL;
  const rows: Row[] = [
    {
      ...infoRow('idle connections held (each welcomed)', `${ggscale.held} (${ggscale.welcomed} welcomes)`, 'bare ws server', String(baseline.held), (ggscale.held / baseline.held).toFixed(2) + '×'),
      target: { text: `${count} held and welcomed`, met: ggscale.held === count && ggscale.welcomed === count },
    },
    {
      ...infoRow(`RSS holding them`, mib(ggscale.rssHeld), 'bare ws server', mib(baseline.rssHeld), (ggscale.rssHeld / baseline.rssHeld).toFixed(2) + '×'),
      target: { text: '≤ 1 GiB', met: ggscale.rssHeld <= 1024 * MiB },
    },
    infoRow('RSS before any connection', mib(ggscale.rssIdle), 'bare ws server', mib(baseline.rssIdle), (ggscale.rssIdle / baseline.rssIdle).toFixed(2) + '×'),
    infoRow('RSS per idle connection', kib(perConnection(ggscale)), 'bare ws server', kib(perConnection(baseline)), (perConnection(ggscale) / perConnection(baseline)).toFixed(2) + '×'),
    ...(resumeOff
      ? [infoRow('RSS per idle connection, resume on (default)', kib(perConnection(ggscale)), 'ggscale, resume off', kib(perConnection(resumeOff)), (perConnection(ggscale) / perConnection(resumeOff)).toFixed(2) + '×')]
      : []),
    {
      ...infoRow(`RSS projected at ${GOAL} (idle + per connection)`, mib(projected), 'goal', '1024 MiB', (projected / (1024 * MiB)).toFixed(2) + '×'),
      target: { text: '≤ 1 GiB', met: projected <= 1024 * MiB },
    },
    throughputRow('connections accepted per second', ggscale.acceptedPerSecond, 'bare ws server', baseline.acceptedPerSecond, {}, 'conn/s'),
  ];
  report.table(`${count} idle WebSockets on one node (2 cores shared with the clients)`, rows);
}
