/** Helpers shared by the fleet suites (not a test file itself). */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { bearer, type TestProject } from '../support/tenancy.js';

export interface AllocationBody {
  id: string;
  fleet: string;
  game_server: string;
  state: string;
  address: string;
  ports: Array<{ name: string; port: number; protocol: string }>;
  expires_at: string;
  created_at: string;
  ended_at: string | null;
}

export async function allocate(app: FastifyInstance, project: TestProject, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/fleet/allocations', headers: { ...bearer(project.secretKey), ...headers }, payload: body as object });
}

export async function release(app: FastifyInstance, project: TestProject, id: string) {
  return app.inject({ method: 'DELETE', url: `/v1/fleet/allocations/${id}`, headers: bearer(project.secretKey) });
}

export async function getAllocation(app: FastifyInstance, project: TestProject, id: string) {
  return app.inject({ method: 'GET', url: `/v1/fleet/allocations/${id}`, headers: bearer(project.secretKey) });
}

/** One UDP request; resolves to the reply, or undefined when none came within the timeout. */
export async function udpAsk(host: string, port: number, text: string, timeoutMs = 1000): Promise<string | undefined> {
  const socket = dgram.createSocket('udp4');
  try {
    const reply = once(socket, 'message', { signal: AbortSignal.timeout(timeoutMs) });
    socket.send(text, port, host);
    const [message] = (await reply) as [Buffer];
    return message.toString('utf8');
  } catch {
    return undefined;
  } finally {
    socket.close();
  }
}

/** A value of a metric in Prometheus text, summed over the series that carry every given label. */
export async function metricValue(app: FastifyInstance, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

/** Game-server processes (Linux /proc) whose environment has `marker`, by their GGSCALE_GAME_SERVER name. */
export function gameServerProcesses(marker: string): string[] {
  const names: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`).toString('utf8').split('\0');
      if (env.includes(marker)) names.push(env.find((e) => e.startsWith('GGSCALE_GAME_SERVER='))?.slice(20) ?? entry);
    } catch {
      // gone, or not ours
    }
  }
  return names;
}

/** Game-server processes started by this test process. */
export const childGameServers = () => gameServerProcesses(`GGSCALE_PARENT_PID=${process.pid}`);

export function assertAllocationShape(body: AllocationBody): void {
  assert.deepEqual(Object.keys(body).sort(), ['address', 'created_at', 'ended_at', 'expires_at', 'fleet', 'game_server', 'id', 'ports', 'state'].sort());
  assert.match(body.id, /^\d+$/);
  assert.ok(body.ports.length > 0);
  assert.ok(!Number.isNaN(Date.parse(body.expires_at)));
}

/**
 * A minimal game server for fleets under test: it echoes UDP like the shipped one and speaks the SDK
 * (Ready, health every 200 ms; UNHEALTHY stops the pings, EXIT asks for shutdown, READY re-readies,
 * CRASH exits with 3). It starts in ~50 ms.
 */
export const TINY_GAME_SERVER = [
  process.execPath,
  '-e',
  `const dgram = require('node:dgram');
const sdk = 'http://127.0.0.1:' + process.env.AGONES_SDK_HTTP_PORT;
const call = (path) => fetch(sdk + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => {});
let health;
const socket = dgram.createSocket('udp4');
socket.on('message', (message, peer) => {
  const text = message.toString().trim();
  if (text === 'CRASH') process.exit(3);
  if (text === 'UNHEALTHY') clearInterval(health);
  if (text === 'EXIT') call('/shutdown');
  if (text === 'READY') call('/ready');
  socket.send('ACK: ' + text + '\\n', peer.port, peer.address);
});
socket.bind(Number(process.env.PORT), '0.0.0.0', () => {
  call('/ready');
  health = setInterval(() => call('/health'), 200);
});
process.on('SIGTERM', () => process.exit(0));
// Like the echo server, stop once the ggscale that started us is gone (unless told not to).
const parent = Number(process.env.GGSCALE_PARENT_PID);
if (parent && !process.argv.includes('unwatched')) setInterval(() => process.ppid !== parent && process.exit(0), 500).unref();`,
];

/** TINY_GAME_SERVER without the parent watchdog: an orphan only the start-up sweep can clean up. */
export const UNWATCHED_GAME_SERVER = [...TINY_GAME_SERVER, 'unwatched'];

/** A game server that starts but never becomes Ready. */
export const NEVER_READY = [process.execPath, '-e', 'setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));'];
