/**
 * What a newcomer gets from `npm install && npm start`: the BUILT server (dist/, as `npm start` runs it) on
 * the embedded default serves healthz, `ggscale bootstrap` gives keys, and the project's default local
 * fleet allocates an echo server whose UDP port answers `hello` with `ACK: hello\n`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForStatus } from '../support/process.js';
import { eventually } from '../support/eventually.js';
import { udpAsk } from '../fleet/helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');

describe('the built server, as npm start runs it', () => {
  let dataDir: string;
  let server: ChildProcess | undefined;
  let url: string;
  let env: Record<string, string>;

  before(async () => {
    // scripts/test.mjs builds dist/ before the run; build here too when this file runs alone.
    spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    dataDir = mkdtempSync(join(tmpdir(), 'ggscale-fresh-'));
    const port = await freePort();
    const first = 23500 + Math.floor(Math.random() * 400) * 2;
    env = { PATH: process.env.PATH ?? '', GGSCALE_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', FLEET_LOCAL_BUFFER: '1', FLEET_LOCAL_PORT_RANGE: `${first}-${first + 1}` };
    server = spawn(process.execPath, [cli, 'serve'], { env, stdio: 'ignore' });
    url = `http://127.0.0.1:${port}`;
    await waitForStatus(`${url}/v1/readyz`, 200, 30_000);
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('allocates an echo server on the default local fleet, and UDP hello is answered', async () => {
    const boot = spawnSync(process.execPath, [cli, 'bootstrap', '--tenant', 'acme', '--project', 'space-race'], { env, encoding: 'utf8' });
    assert.equal(boot.status, 0, boot.stderr);
    const keys = JSON.parse(boot.stdout) as { secret_key: string };
    const headers = { authorization: `Bearer ${keys.secret_key}`, 'content-type': 'application/json' };
    let allocation: { id: string; address: string; ports: { port: number; protocol: string }[] } | undefined;
    await eventually(
      async () => {
        const res = await fetch(`${url}/v1/fleet/allocations`, { method: 'POST', headers, body: JSON.stringify({ fleet: 'default' }) });
        if (res.status === 201) allocation = (await res.json()) as typeof allocation;
        return res.status === 201;
      },
      20_000,
      'an allocation on the default fleet',
    );
    const udp = allocation!.ports.find((p) => p.protocol.includes('UDP')) ?? allocation!.ports[0]!;
    assert.equal(await udpAsk(allocation!.address, udp.port, 'hello'), 'ACK: hello\n');
    const released = await fetch(`${url}/v1/fleet/allocations/${allocation!.id}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    assert.equal(released.status, 204);
  });
});
