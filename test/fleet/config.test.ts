/** The fleet layer's configuration: documented defaults, and errors that name their variable. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/app/config.js';
import { loadFleetConfig } from '../../src/modules/fleet/config.js';
import { defaultGameServerCommand, gameServerEnv, resolveCommand } from '../../src/modules/fleet/local/default-command.js';

it('defaults: local backend, buffer 2, 32 processes, ports 7000-7999 on 127.0.0.1, namespace default, 1 h TTL', () => {
  const config = loadFleetConfig({});
  assert.equal(config.backend, 'local');
  assert.equal(config.allocationTtlSeconds, 3600);
  assert.equal(config.defaultMaxAllocations, 10);
  assert.deepEqual(
    [config.local.buffer, config.local.maxProcesses, config.local.portRange, config.local.host],
    [2, 32, { first: 7000, last: 7999 }, '127.0.0.1'],
  );
  assert.deepEqual([config.agones.kubeconfig, config.agones.namespace], [undefined, 'default']);
  assert.equal(loadConfig({}).fleet.backend, 'local', 'registered in the server configuration');
});

it('reads every variable', () => {
  const config = loadFleetConfig({
    FLEET_BACKEND: 'agones',
    FLEET_LOCAL_BUFFER: '0',
    FLEET_LOCAL_MAX_PROCESSES: '4',
    FLEET_LOCAL_PORT_RANGE: '9000-9009',
    FLEET_LOCAL_HOST: 'games.example.com',
    FLEET_LOCAL_NODE_ID: 'node-a',
    KUBECONFIG: '/etc/ggscale/kubeconfig',
    FLEET_AGONES_NAMESPACE: 'games',
    FLEET_ALLOCATION_TTL_SECONDS: '60',
  });
  assert.equal(config.backend, 'agones');
  assert.deepEqual([config.local.buffer, config.local.maxProcesses, config.local.portRange, config.local.host, config.local.nodeId], [0, 4, { first: 9000, last: 9009 }, 'games.example.com', 'node-a']);
  assert.deepEqual([config.agones.kubeconfig, config.agones.namespace, config.allocationTtlSeconds], ['/etc/ggscale/kubeconfig', 'games', 60]);
});

it('refuses bad values, naming the variable', () => {
  const cases: Array<[string, string]> = [
    ['FLEET_BACKEND', 'kubernetes'],
    ['FLEET_LOCAL_BUFFER', '-1'],
    ['FLEET_LOCAL_MAX_PROCESSES', '0'],
    ['FLEET_LOCAL_PORT_RANGE', '8000-7000'],
    ['FLEET_LOCAL_PORT_RANGE', '7000'],
    ['FLEET_LOCAL_PORT_RANGE', '0-10'],
    ['FLEET_LOCAL_PORT_RANGE', '70000-70001'],
    ['FLEET_LOCAL_HOST', 'not a host'],
    ['FLEET_AGONES_NAMESPACE', 'Not_A_Namespace'],
    ['FLEET_ALLOCATION_TTL_SECONDS', '0'],
    ['FLEET_SWEEP_INTERVAL_MS', '1'],
  ];
  for (const [name, value] of cases) assert.throws(() => loadFleetConfig({ [name]: value }), new RegExp(`^ConfigError: ${name}:|${name}`), `${name}=${value}`);
});

it('the default game-server command is this CLI\'s `gameserver --port {port}`, with a scrubbed environment', () => {
  const command = defaultGameServerCommand();
  assert.equal(command[0], process.execPath);
  assert.deepEqual(command.slice(-3), ['gameserver', '--port', '{port}']);
  assert.match(command.at(-4)!, /cli\.(ts|js)$/);
  assert.deepEqual(resolveCommand(['srv', '--port={port}', 'x'], 7001), ['srv', '--port=7001', 'x']);
  const env = gameServerEnv(7001, 'gs-1', 'node-a');
  assert.deepEqual([env.PORT, env.GGSCALE_GAME_SERVER, env.GGSCALE_FLEET_OWNER, env.GGSCALE_PARENT_PID], ['7001', 'gs-1', 'node-a', String(process.pid)]);
  assert.ok(!Object.keys(env).some((key) => /DATABASE|TOKEN|SECRET|REDIS|GGSCALE_ADMIN/.test(key)), 'none of ggscale\'s secrets reach a game server');
});
