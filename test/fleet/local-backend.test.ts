/**
 * The local backend on its own (no database): the Agones state machine, warm buffers only for registered
 * fleets, the process ceiling (with eviction for a waiting allocation), health and start timeouts, the
 * port range, the SDK endpoint as the real SDK client sees it, cleanup on close, and the orphan sweep.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { loadFleetConfig } from '../../src/modules/fleet/config.js';
import { watchParent } from '../../src/modules/fleet/gameserver/parent-watchdog.js';
import { AgonesSdkClient } from '../../src/modules/fleet/gameserver/sdk-client.js';
import { LocalBackend } from '../../src/modules/fleet/local/local-backend.js';
import { findOrphans, killOrphans } from '../../src/modules/fleet/local/orphans.js';
import { startSdkEndpoint } from '../../src/modules/fleet/local/sdk-endpoint.js';
import type { AllocationRequest, FleetSpec, GameServerEvent, GameServerView } from '../../src/modules/fleet/types.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { eventually } from '../support/eventually.js';
import { NEVER_READY, TINY_GAME_SERVER, childGameServers, udpAsk } from './helpers.js';

let nextRange = 25000;
function backend(env: Record<string, string> = {}) {
  const first = nextRange;
  nextRange += 100;
  const config = loadFleetConfig({ FLEET_LOCAL_PORT_RANGE: `${first}-${first + 99}`, FLEET_LOCAL_NODE_ID: `test-${process.pid}`, ...env }).local;
  const local = new LocalBackend({ config, logger: createLogger({ level: 'silent' }), defaultCommand: TINY_GAME_SERVER });
  const events: GameServerEvent[] = [];
  local.watch((event) => events.push(event));
  return { local, events };
}

const fleet = (id: string, extra: Partial<FleetSpec> = {}): FleetSpec => ({
  tenantId: '1', projectId: '7', fleetId: id, name: `fleet${id}`, labels: { tier: 'gold' }, command: null, agonesFleet: null, ...extra,
});
const request = (f: FleetSpec, allocationId: string, extra: Partial<AllocationRequest> = {}): AllocationRequest => ({
  fleet: f, allocationId, selector: {}, metadata: { labels: {}, annotations: {} }, ...extra,
});
const states = (local: LocalBackend, fleetId?: string) =>
  local.snapshot().filter((gs) => fleetId === undefined || gs.name.startsWith(`fleet${fleetId}-`)).map((gs) => gs.state).sort();

describe('local fleet backend', () => {
  it('keeps a warm buffer only for registered fleets, and refills it after an allocation', async (t) => {
    const { local } = backend({ FLEET_LOCAL_BUFFER: '2' });
    t.after(() => local.close());
    await local.start();
    assert.deepEqual(local.snapshot(), [], 'nothing runs before a fleet is registered');
    local.addFleet(fleet('1'));
    await eventually(async () => states(local).join() === 'Ready,Ready', 10_000, 'two Ready servers');
    const outcome = await local.allocate(request(fleet('1'), '42', { selector: { tier: 'gold' }, metadata: { labels: { mode: 'duel' }, annotations: { note: 'x' } } }));
    assert.equal(outcome.kind, 'allocated');
    const server = (outcome as { gameServer: GameServerView }).gameServer;
    assert.equal(server.state, 'Allocated');
    assert.deepEqual(server.labels, { tier: 'gold', 'agones.dev/fleet': 'fleet1', 'ggscale.dev/project': '7', mode: 'duel', 'ggscale.dev/allocation': '42' });
    assert.equal(await udpAsk('127.0.0.1', server.ports[0]!.port, 'hi'), 'ACK: hi\n');
    await eventually(async () => states(local).join() === 'Allocated,Ready,Ready', 10_000, 'the buffer refilled');
    assert.deepEqual((await local.list(fleet('1'))).length, 3);
    assert.equal((await local.allocate(request(fleet('1'), '43', { selector: { tier: 'silver' } }))).kind, 'unallocated', 'no server has these labels');
  });

  it('stops the servers of a fleet that is removed, even those still starting', async (t) => {
    const { local, events } = backend({ FLEET_LOCAL_BUFFER: '2' });
    t.after(() => local.close());
    await local.start();
    local.addFleet(fleet('11'));
    // After the coalesced fill (a microtask) the starts are under way, probing ports (I/O, not done yet).
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
    local.removeFleet('11');
    // Once another fleet's servers are Ready, the removed fleet's starts have long settled.
    local.addFleet(fleet('12'));
    await eventually(async () => states(local, '12').join() === 'Ready,Ready', 10_000, 'the other fleet is warm');
    await eventually(async () => states(local, '11').length === 0, 5_000, 'no server of the removed fleet is left');
    assert.ok(!events.some((e) => e.gameServer.name.startsWith('fleet11-') && e.gameServer.state === 'Ready'), 'none ever became Ready');
  });

  it('walks the Agones state machine: Scheduled → RequestReady → Ready → Allocated → Shutdown', async (t) => {
    const { local, events } = backend({ FLEET_LOCAL_BUFFER: '0' });
    t.after(() => local.close());
    await local.start();
    const outcome = await local.allocate(request(fleet('2'), '1'));
    assert.equal(outcome.kind, 'allocated', 'a cold allocation waits for a server to start');
    const name = (outcome as { gameServer: GameServerView }).gameServer.name;
    await local.release(name);
    const seen = events.filter((e) => e.gameServer.name === name).map((e) => `${e.type} ${e.gameServer.state}`);
    assert.deepEqual(seen, ['ADDED Scheduled', 'MODIFIED RequestReady', 'MODIFIED Ready', 'MODIFIED Allocated', 'MODIFIED Shutdown', 'DELETED Shutdown']);
    assert.equal(await local.get(name), undefined);
    await local.release(name); // idempotent
  });

  it('marks a server Unhealthy when its health pings stop, kills it and replaces it', async (t) => {
    const { local, events } = backend({ FLEET_LOCAL_BUFFER: '1', FLEET_LOCAL_HEALTH_TIMEOUT_MS: '600' });
    t.after(() => local.close());
    await local.start();
    local.addFleet(fleet('3'));
    await eventually(async () => states(local).join() === 'Ready', 10_000, 'a Ready server');
    const [sick] = local.snapshot();
    assert.equal(await udpAsk('127.0.0.1', sick!.ports[0]!.port, 'UNHEALTHY'), 'ACK: UNHEALTHY\n');
    await eventually(async () => events.some((e) => e.gameServer.name === sick!.name && e.gameServer.state === 'Unhealthy'), 5_000, 'Unhealthy');
    await eventually(async () => events.some((e) => e.type === 'DELETED' && e.gameServer.name === sick!.name), 5_000, 'killed');
    await eventually(async () => local.snapshot().some((gs) => gs.name !== sick!.name && gs.state === 'Ready'), 10_000, 'replaced');
  });

  it('marks a server that never becomes Ready Unhealthy after the start timeout', async (t) => {
    const { local, events } = backend({ FLEET_LOCAL_BUFFER: '1', FLEET_LOCAL_START_TIMEOUT_MS: '400', FLEET_ALLOCATION_WAIT_MS: '0' });
    t.after(() => local.close());
    await local.start();
    local.addFleet(fleet('4', { command: NEVER_READY }));
    await eventually(async () => events.some((e) => e.gameServer.state === 'Unhealthy'), 5_000, 'Unhealthy after the start timeout');
    assert.equal((await local.allocate(request(fleet('4', { command: NEVER_READY }), '1'))).kind, 'unallocated');
  });

  it('never runs more than FLEET_LOCAL_MAX_PROCESSES, and makes room for a waiting allocation', async (t) => {
    const { local } = backend({ FLEET_LOCAL_BUFFER: '2', FLEET_LOCAL_MAX_PROCESSES: '3' });
    t.after(() => local.close());
    let most = 0;
    local.watch(() => (most = Math.max(most, local.snapshot().length)));
    await local.start();
    local.addFleet(fleet('5'));
    await eventually(async () => states(local, '5').join() === 'Ready,Ready', 10_000, 'fleet 5 warm');
    local.addFleet(fleet('6'));
    await eventually(async () => states(local, '6').join() === 'Ready', 10_000, 'fleet 6 gets what is left');
    // Fleet 7 has nothing warm and the ceiling is reached: an idle server of another fleet makes room.
    const outcome = await local.allocate(request(fleet('7'), '9'));
    assert.equal(outcome.kind, 'allocated');
    assert.ok(most <= 3, `at most 3 processes at once, saw ${most}`);
    assert.ok(local.snapshot().length <= 3);
  });

  it('answers no Ready server when the port range is used up', async (t) => {
    const { local } = backend({ FLEET_LOCAL_BUFFER: '0', FLEET_ALLOCATION_WAIT_MS: '300', FLEET_LOCAL_PORT_RANGE: '26900-26900' });
    t.after(() => local.close());
    const blocker = net.createServer().listen(26900, '0.0.0.0');
    await once(blocker, 'listening');
    t.after(() => blocker.close());
    await local.start();
    assert.equal((await local.allocate(request(fleet('8'), '1'))).kind, 'unallocated');
    assert.deepEqual(local.snapshot(), []);
  });

  it('leaves no child process behind when it closes', async () => {
    const { local } = backend({ FLEET_LOCAL_BUFFER: '3' });
    const exitListeners = process.listenerCount('exit');
    await local.start();
    assert.equal(process.listenerCount('exit'), exitListeners + 1, 'a last-resort kill on process exit');
    local.addFleet(fleet('10'));
    await eventually(async () => states(local).length === 3, 10_000, 'three servers');
    const names = local.snapshot().map((gs) => gs.name);
    assert.ok(names.every((n) => childGameServers().includes(n)));
    await local.close();
    assert.deepEqual(childGameServers().filter((n) => names.includes(n)), []);
    assert.equal(process.listenerCount('exit'), exitListeners, 'and it is removed again');
  });

  it('serves the Agones SDK REST gateway as the real SDK client expects', async (t) => {
    const calls: string[] = [];
    const labels: Record<string, string> = { 'agones.dev/fleet': 'f' };
    const endpoint = await startSdkEndpoint({
      ready: () => calls.push('ready'),
      health: () => calls.push('health'),
      allocate: () => calls.push('allocate'),
      shutdown: () => calls.push('shutdown'),
      view: () => ({ name: 'gs-1', state: 'Ready', address: '127.0.0.1', ports: [{ name: 'default', port: 7001, protocol: 'UDP' }], labels, annotations: {} }),
      setLabel: (key, value) => (labels[`agones.dev/sdk-${key}`] = value),
      setAnnotation: () => calls.push('annotation'),
    });
    t.after(() => endpoint.close());
    const sdk = new AgonesSdkClient({ port: endpoint.port });
    await sdk.ready();
    await sdk.health();
    await sdk.allocate();
    await sdk.setLabel('mode', 'ranked');
    await sdk.setAnnotation('map', 'dust');
    await sdk.shutdown();
    const gs = await sdk.getGameServer();
    assert.deepEqual(calls, ['ready', 'health', 'allocate', 'annotation', 'shutdown']);
    assert.deepEqual([gs.name, gs.state, gs.address, gs.ports], ['gs-1', 'Ready', '127.0.0.1', [{ name: 'default', port: 7001 }]]);
    assert.equal(gs.labels['agones.dev/sdk-mode'], 'ranked');
    await assert.rejects(sdk.setLabel('bad key!', 'x'), /HTTP 400/);
  });

  it('sweeps up game servers orphaned by a ggscale that died, and the echo server notices on its own', async (t) => {
    const owner = `sweep-test-${process.pid}`;
    // A "game server" whose recorded parent (pid 1 here: surely not its parent) is gone.
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { PATH: process.env.PATH ?? '', GGSCALE_FLEET_OWNER: owner, GGSCALE_PARENT_PID: '1', GGSCALE_GAME_SERVER: 'lost-1' },
      detached: true,
      stdio: 'ignore',
    });
    t.after(() => orphan.kill('SIGKILL'));
    const exited = new Promise((resolve) => orphan.once('exit', resolve));
    await eventually(async () => (await findOrphans(owner)).some((o) => o.pid === orphan.pid), 5_000, 'the orphan is found');
    assert.deepEqual(await findOrphans(`someone-else-${process.pid}`), [], 'other owners\' processes are left alone');
    killOrphans(await findOrphans(owner));
    await exited;

    let orphaned = false;
    const stop = watchParent({ GGSCALE_PARENT_PID: '1' }, () => (orphaned = true), 20);
    t.after(stop);
    await eventually(async () => orphaned, 2_000, 'the watchdog fires once the recorded parent is not the parent');
    let wrong = false;
    watchParent({ GGSCALE_PARENT_PID: String(process.ppid) }, () => (wrong = true), 20)();
    assert.equal(wrong, false);
  });
});
