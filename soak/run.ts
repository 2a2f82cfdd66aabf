/**
 * `npm run soak -- --duration=SECONDS`: starts a ggscale process (the built dist/cli.js; on DATABASE_URL /
 * REDIS_URL when set), sets up a tenant, project, keys, boards and players through the public API, drives
 * a mixed workload (player auth, storage, leaderboards, realtime) at a fixed concurrency for the given time
 * while sampling the server's RSS, heap, event-loop lag and request counts, then prints a one-screen report
 * with the slope of the RSS after warm-up (a leak shows as a slope, not as one noisy sample).
 * Exits 1 on any error: an unexpected status, any 5xx, a socket error, a wrong answer, a warning or error
 * in the server's log, a WebSocket still counted after every client left, or a server that did not stop
 * cleanly.
 */
import { HttpClient } from './http.js';
import { parseOptions, type SoakOptions } from './options.js';
import { PlayerPool, bootstrapProject, newDeviceId, signInDevice, signUp, type Player, type SoakProject } from './players.js';
import { runSocket } from './realtime.js';
import { Recorder } from './recorder.js';
import { printReport } from './report.js';
import { Sampler } from './sampler.js';
import { scanLog, startSoakServer, type LogScan } from './server.js';
import { runWorkers } from './workload.js';

let options: SoakOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

// Ctrl-C ends the workload early; the server is still stopped, the database dropped and the report printed.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (interrupted = true));

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A quarter of the players sign up with email and password (argon2id), the rest are device players. */
async function createPlayers(http: HttpClient, project: SoakProject, count: number, emailShare: number): Promise<Player[]> {
  const players: Player[] = [];
  const emailPlayers = Math.round(count * emailShare);
  for (let i = 0; i < count; i += 4) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(4, count - i) }, (_unused, j) =>
        i + j < emailPlayers ? signUp(http, project) : signInDevice(http, project, newDeviceId(), [201]),
      ),
    );
    for (const player of batch) {
      if (!player) throw new Error('set-up failed: a player could not sign in');
      players.push(player);
    }
  }
  return players;
}

const databaseUrl = process.env.DATABASE_URL || undefined;
const redisUrl = process.env.REDIS_URL || undefined;
const server = await startSoakServer({ build: options.build, databaseUrl, redisUrl });
const recorder = new Recorder();
const http = new HttpClient(new URL(server.process.url), recorder, options.concurrency + options.sockets + 4);
const sampler = new Sampler(http, server.process.child.pid!);
const problems: string[] = [];
let serverExited = false;
let stopped = false;
void server.process.exited.then((code) => {
  serverExited = true;
  if (!stopped && !interrupted) problems.push(`the server exited during the run (code ${String(code)}): ${server.process.stderr.slice(-3).join(' | ')}`);
});
let started = performance.now();
let elapsedSeconds = 0;

try {
  const project = await bootstrapProject(http, server.adminToken, `soak-${Date.now()}`);
  const pool = new PlayerPool(await createPlayers(http, project, options.players, 0.25));
  const socketPlayers = await createPlayers(http, project, options.sockets, 0);
  console.log(
    `soak: ${server.description}; ${options.durationSeconds} s, ${options.concurrency} HTTP workers, ${options.sockets} WebSockets, ` +
      `${options.players} players (pid ${server.process.child.pid})`,
  );

  started = performance.now();
  const deadline = started + options.durationSeconds * 1000;
  const stopping = () => interrupted || serverExited || performance.now() >= deadline;
  await sampler.sample();
  const sampling = (async () => {
    let next = performance.now() + options.sampleSeconds * 1000;
    while (!stopping()) {
      await pause(Math.min(250, Math.max(0, next - performance.now())));
      if (performance.now() >= next && !stopping()) {
        await sampler.sample();
        next += options.sampleSeconds * 1000;
      }
    }
  })();
  const realtime = { http, recorder, project, url: `${server.process.url.replace(/^http/, 'ws')}/v1/realtime` };
  await Promise.all([
    runWorkers({ http, recorder, project }, pool, options.concurrency, stopping),
    ...socketPlayers.map((player) => runSocket(realtime, player, stopping)),
    sampling,
  ]);
  elapsedSeconds = (performance.now() - started) / 1000;

  if (!serverExited) {
    // Every client has closed its socket: the server must count none within a few seconds (leaked slots
    // and hub entries show here).
    let last = await sampler.sample();
    for (let waited = 0; last && last.wsConnections > 0 && waited < 10_000; waited += 250) {
      await pause(250);
      last = await sampler.sample();
    }
    if (last && last.wsConnections > 0) problems.push(`${last.wsConnections} WebSocket connections still counted after every client closed`);
    // readyz answers 503 while the database opens: only 5xx answers after set-up count.
    const before = sampler.samples[0]?.server5xx ?? 0;
    if (last && last.server5xx > before) problems.push(`the server answered ${last.server5xx - before} requests with a 5xx during the run`);
  }
} catch (error) {
  problems.push(`the soak stopped: ${error instanceof Error ? error.message : String(error)}`);
}

stopped = true;
http.close();
const exitCode = serverExited ? server.process.child.exitCode : await server.stop();
if (exitCode !== 0) problems.push(`the server's exit code was ${String(exitCode)}, not 0`);
let log: LogScan | undefined;
try {
  log = await scanLog(server.logFile);
  if (log.problems > 0) problems.push(`${log.problems} warn/error lines in the server log, e.g. ${log.samples[0]}`);
  if (log.notJson > 0) problems.push(`${log.notJson} lines of the server's stdout are not JSON`);
} catch (error) {
  problems.push(`the server log could not be read: ${(error as Error).message}`);
}
if (elapsedSeconds === 0) elapsedSeconds = Math.max(0.001, (performance.now() - started) / 1000);

printReport({
  title: `ggscale soak: ${elapsedSeconds.toFixed(0)} s on ${server.description}`,
  setup: `${options.concurrency} HTTP workers, ${options.sockets} WebSockets, ${options.players} players; a sample every ${options.sampleSeconds} s; warm-up ${options.warmupSeconds} s`,
  elapsedSeconds,
  warmupSeconds: options.warmupSeconds,
  recorder,
  samples: sampler.samples,
  log,
  exitCode,
  problems,
});
const failed = recorder.totalErrors > 0 || problems.length > 0;
if (failed) console.log(`server log kept at ${server.logFile}`);
await server.cleanUp(failed);
process.exit(failed ? 1 : interrupted ? 130 : 0);
