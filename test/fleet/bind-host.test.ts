/**
 * Local game servers listen on FLEET_LOCAL_HOST, not on every interface. Regression: the echo server bound
 * UDP and TCP to 0.0.0.0 whatever FLEET_LOCAL_HOST said, so a host meant to serve games on a private address
 * also served them on every other one. Here the host is 127.0.0.2: the sockets the kernel lists for the
 * server's port are bound to it, and 127.0.0.1 on the same port answers nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseGameServerArgs } from '../../src/modules/fleet/gameserver/echo-server.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createPglite, type TestDatabase } from '../support/db.js';
import { createProject, createTenant, type TestProject } from '../support/tenancy.js';
import { allocate, release, udpAsk, type AllocationBody } from './helpers.js';

const HOST = '127.0.0.2';
const RANGE = { first: 25000, last: 25099 };

/** The local addresses (dotted IPv4) of the kernel's IPv4 sockets on `port`, from /proc/net/{tcp,udp}. */
function boundAddresses(protocol: 'tcp' | 'udp', port: number): string[] {
  const rows = readFileSync(`/proc/net/${protocol}`, 'utf8').trim().split('\n').slice(1);
  const addresses: string[] = [];
  for (const row of rows) {
    const [address, hexPort] = (row.trim().split(/\s+/)[1] ?? '').split(':');
    if (!address || parseInt(hexPort ?? '', 16) !== port) continue;
    // Little-endian hex: 0200007F is 127.0.0.2.
    addresses.push([3, 2, 1, 0].map((i) => parseInt(address.slice(i * 2, i * 2 + 2), 16)).join('.'));
  }
  return addresses;
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the game server command line', () => {
  it('takes the address to listen on from --host, else GGSCALE_GAME_SERVER_HOST, else every interface', () => {
    assert.equal(parseGameServerArgs(['--port', '7001'], {}).host, '0.0.0.0');
    assert.equal(parseGameServerArgs(['--port', '7001'], { GGSCALE_GAME_SERVER_HOST: '10.1.2.3' }).host, '10.1.2.3');
    assert.equal(parseGameServerArgs(['--host', '::1'], { GGSCALE_GAME_SERVER_HOST: '10.1.2.3' }).host, '::1');
    assert.equal(parseGameServerArgs(['--host=game.local'], {}).host, 'game.local');
    assert.throws(() => parseGameServerArgs(['--host', ''], {}), /--host/);
    assert.throws(() => parseGameServerArgs(['--host', 'a b'], {}), /--host/);
  });
});

describe(`local game servers listen on FLEET_LOCAL_HOST (${HOST})`, () => {
  let database: TestDatabase;
  let t: TestApp;
  let project: TestProject;

  before(async () => {
    database = await createPglite();
    t = await buildTestApp({
      db: database.db,
      env: { LOG_LEVEL: 'warn', FLEET_LOCAL_HOST: HOST, FLEET_LOCAL_BUFFER: '0', FLEET_LOCAL_PORT_RANGE: `${RANGE.first}-${RANGE.last}` },
    });
    project = await createProject(t.app, await createTenant(t.app));
  });
  after(async () => {
    await t.close();
    await database.drop();
  });

  it('binds the default echo server\'s UDP and TCP sockets to that address only', async () => {
    const res = await allocate(t.app, project, { fleet: 'default' });
    assert.equal(res.statusCode, 201, res.body);
    const allocation = res.json<AllocationBody>();
    assert.equal(allocation.address, HOST);
    const port = allocation.ports[0]!.port;

    assert.equal(await udpAsk(HOST, port, 'hello'), 'ACK: hello\n', 'it answers on FLEET_LOCAL_HOST');
    assert.deepEqual(boundAddresses('udp', port), [HOST], 'UDP is bound to FLEET_LOCAL_HOST only');
    assert.deepEqual(boundAddresses('tcp', port), [HOST], 'TCP is bound to FLEET_LOCAL_HOST only');
    assert.equal(await tcpConnects(HOST, port), true);
    assert.equal(await tcpConnects('127.0.0.1', port), false, 'TCP on another local address is refused');
    assert.equal(await udpAsk('127.0.0.1', port, 'hello', 300), undefined, 'UDP on another local address is not answered');

    assert.equal((await release(t.app, project, allocation.id)).statusCode, 204);
  });
});
