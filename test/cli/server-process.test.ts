/** ggscale as a process: configuration errors, the embedded default over a real socket, the data-folder
 * lock, bootstrap with and without a running server, key rotation, and graceful shutdown. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, startGgscale, waitForStatus, type RunningProcess } from '../support/process.js';

describe('ggscale process on the embedded default', () => {
  let dataDir: string;
  let server: RunningProcess | undefined;
  let port: number;
  let session: { access_token: string; refresh_token: string; publishable: string } | undefined;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ggscale-cli-'));
    port = await freePort();
  });
  after(async () => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops on a bad configuration value with one line naming it and a non-zero exit', async () => {
    const result = await run(['serve'], { GGSCALE_DATA_DIR: dataDir, PORT: 'eighty' });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /PORT: must be a whole number/);
  });

  it('serves healthz on a real socket, then readyz once the embedded database is open; stdout is JSON lines only', async () => {
    server = startGgscale(['serve'], { GGSCALE_DATA_DIR: dataDir }, port);
    await waitForStatus(`${server.url}/v1/healthz`, 200, 15_000);
    await waitForStatus(`${server.url}/v1/readyz`, 200, 30_000);
    const body = (await (await fetch(`${server.url}/v1/healthz`)).json()) as Record<string, string>;
    assert.deepEqual(Object.keys(body), ['status', 'version', 'commit']);
    for (const line of server.stdout) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
    const tokenFile = join(dataDir, 'admin-token');
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    assert.ok(token.length >= 32);
    const logs = server.stdout.join('\n');
    assert.ok(logs.includes(tokenFile), 'the log gives the token file path');
    assert.ok(!logs.includes(token), 'the log never gives the token');
  });

  it('refuses a second process on the same data folder with a clear message', async () => {
    const second = await run(['serve'], { GGSCALE_DATA_DIR: dataDir, PORT: String(await freePort()) });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another ggscale \(pid \d+\) is using the data folder/);
  });

  it('bootstraps through the running server, and the keys work', async () => {
    const result = await run(['bootstrap', '--tenant', 'acme', '--project', 'space-race'], { GGSCALE_DATA_DIR: dataDir });
    assert.equal(result.code, 0, result.stderr);
    const keys = JSON.parse(result.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(keys).sort(), ['project_id', 'publishable_key', 'secret_key', 'tenant_id']);
    const signup = await fetch(`${server!.url}/v1/auth/device`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.publishable_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device_id: 'cli-device-0123456789abcdef' }),
    });
    assert.equal(signup.status, 201);
    const signedIn = (await signup.json()) as { access_token: string; refresh_token: string };
    session = { ...signedIn, publishable: keys.publishable_key! };
    const again = JSON.parse((await run(['bootstrap', '--tenant', 'acme', '--project', 'space-race'], { GGSCALE_DATA_DIR: dataDir })).stdout) as Record<string, string>;
    assert.equal(again.project_id, keys.project_id, 'bootstrap reuses an existing tenant and project');
  });

  it('rotates signing keys through the running server: the new key is published before it signs', async () => {
    const before = (await (await fetch(`${server!.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const result = await run(['keys', 'rotate'], { GGSCALE_DATA_DIR: dataDir });
    assert.equal(result.code, 0, result.stderr);
    const { kid } = JSON.parse(result.stdout) as { kid: string };
    // Every node reloads keys within its refresh period; this one was asked directly.
    const afterRotation = (await (await fetch(`${server!.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    assert.ok(afterRotation.keys.some((k) => k.kid === kid), 'new key published');
    for (const old of before.keys) assert.ok(afterRotation.keys.some((k) => k.kid === old.kid), 'old key still published');
  });

  it('shuts down on SIGTERM with exit 0 and releases the folder', async () => {
    server!.child.kill('SIGTERM');
    assert.equal(await server!.exited, 0);
    assert.ok(!existsSync(join(dataDir, 'ggscale.lock')));
    assert.ok(server!.stdout.some((line) => line.includes('"stopped"')));
    server = undefined;
  });

  it('bootstraps straight into the data folder when no server runs', async () => {
    const result = await run(['bootstrap', '--tenant', 'acme', '--project', 'second-game'], { GGSCALE_DATA_DIR: dataDir });
    assert.equal(result.code, 0, result.stderr);
    const keys = JSON.parse(result.stdout) as Record<string, string>;
    assert.match(keys.secret_key!, /^ggs_sk_/);
    assert.ok(!existsSync(join(dataDir, 'ggscale.lock')));
  });

  it('sessions survive a restart: the old access token and refresh token still work', async () => {
    server = startGgscale(['serve'], { GGSCALE_DATA_DIR: dataDir }, port);
    await waitForStatus(`${server.url}/v1/readyz`, 200, 30_000);
    const me = await fetch(`${server.url}/v1/auth/me`, { headers: { authorization: `Bearer ${session!.access_token}` } });
    assert.equal(me.status, 200);
    const refreshed = await fetch(`${server.url}/v1/auth/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session!.publishable}`, 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session!.refresh_token }),
    });
    assert.equal(refreshed.status, 200);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    server = undefined;
  });
});
