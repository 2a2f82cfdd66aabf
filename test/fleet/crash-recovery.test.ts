/**
 * Crash reconciliation on the local backend, with real processes: ggscale is killed outright (SIGKILL)
 * while it has allocations. The echo server notices its parent is gone and stops; a custom game server
 * that does not is swept up when ggscale starts again; and the allocations that pointed at them end as
 * Lost — no leaked game server, no allocation pointing at a dead one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { freePort, startGgscale, waitForStatus, type RunningProcess } from '../support/process.js';
import { eventually } from '../support/eventually.js';
import { OPERATOR_TOKEN } from '../support/tenancy.js';
import { UNWATCHED_GAME_SERVER, gameServerProcesses, udpAsk, type AllocationBody } from './helpers.js';

for (const [index, kind] of databaseKinds().entries()) {
  describe(`local fleet after a ggscale crash (${kind.name})`, () => {
    let database: TestDatabase | undefined;
    let dataDir: string;
    let env: Record<string, string>;
    let running: RunningProcess | undefined;
    const nodeId = `crash-test-${process.pid}-${index}`;

    async function start(): Promise<RunningProcess> {
      const port = await freePort();
      const p = startGgscale(['serve'], env, port);
      await waitForStatus(`${p.url}/v1/readyz`, 200, 60_000);
      return p;
    }
    async function call(p: RunningProcess, method: string, path: string, credential: string, body?: unknown) {
      const res = await fetch(p.url + path, {
        method,
        headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: <T>() => JSON.parse(text) as T, text };
    }

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ggscale-crash-'));
      env = {
        GGSCALE_DATA_DIR: dataDir,
        GGSCALE_ADMIN_TOKEN: OPERATOR_TOKEN,
        FLEET_LOCAL_NODE_ID: nodeId,
        FLEET_LOCAL_BUFFER: '0',
        // Servers start on demand here: on a loaded machine a start takes longer than the default 5 s wait
        // (CI answered 503), and how fast servers start is not what this test is about.
        FLEET_ALLOCATION_WAIT_MS: '30000',
        FLEET_LOCAL_PORT_RANGE: `${27000 + index * 200}-${27199 + index * 200}`,
        FLEET_SWEEP_INTERVAL_MS: '200',
        LOG_LEVEL: 'warn',
      };
      if (kind.name === 'postgres') {
        database = await kind.create();
        env.DATABASE_URL = database.url!;
      }
    });
    after(async () => {
      if (running) {
        running.child.kill('SIGKILL');
        await running.exited;
      }
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('kills nothing it should not, leaks no game server, and ends the dead allocations as Lost', async () => {
      running = await start();
      const tenant = await call(running, 'POST', '/v1/admin/tenants', OPERATOR_TOKEN, { name: `crash-${index}` });
      const project = await call(running, 'POST', `/v1/admin/tenants/${tenant.json<{ id: string }>().id}/projects`, OPERATOR_TOKEN, { name: 'game' });
      const projectId = project.json<{ id: string }>().id;
      const key = (await call(running, 'POST', `/v1/admin/projects/${projectId}/api-keys`, OPERATOR_TOKEN, { kind: 'secret', name: 'server' })).json<{ key: string }>().key;
      assert.equal((await call(running, 'POST', `/v1/admin/projects/${projectId}/fleets`, OPERATOR_TOKEN, { name: 'plain', backend: 'local', command: UNWATCHED_GAME_SERVER })).status, 201);

      const echo = await call(running, 'POST', '/v1/fleet/allocations', key, { fleet: 'default' });
      assert.equal(echo.status, 201, echo.text);
      const plain = await call(running, 'POST', '/v1/fleet/allocations', key, { fleet: 'plain' });
      assert.equal(plain.status, 201, plain.text);
      const [a, b] = [echo.json<AllocationBody>(), plain.json<AllocationBody>()];
      assert.equal(await udpAsk(a.address, a.ports[0]!.port, 'hello'), 'ACK: hello\n');
      assert.equal(await udpAsk(b.address, b.ports[0]!.port, 'hello'), 'ACK: hello\n');

      running.child.kill('SIGKILL');
      await running.exited;
      running = undefined;
      // The shipped echo server watches its parent and stops by itself; the custom one lingers.
      await eventually(async () => (await udpAsk(a.address, a.ports[0]!.port, 'hello', 300)) === undefined, 10_000, 'the orphaned echo server stops');
      assert.equal(await udpAsk(b.address, b.ports[0]!.port, 'hello'), 'ACK: hello\n', 'the custom server outlived ggscale');

      running = await start();
      await eventually(async () => (await udpAsk(b.address, b.ports[0]!.port, 'hello', 300)) === undefined, 10_000, 'the restarted ggscale sweeps the orphan up');
      for (const allocation of [a, b]) {
        await eventually(
          async () => (await call(running!, 'GET', `/v1/fleet/allocations/${allocation.id}`, key)).json<AllocationBody>().state === 'Lost',
          10_000,
          `allocation ${allocation.id} ends as Lost`,
        );
      }
      assert.deepEqual(gameServerProcesses(`GGSCALE_FLEET_OWNER=${nodeId}`), []);

      // A graceful stop also takes every child with it.
      const again = await call(running, 'POST', '/v1/fleet/allocations', key, { fleet: 'plain' });
      assert.equal(again.status, 201, again.text);
      running.child.kill('SIGTERM');
      assert.equal(await running.exited, 0);
      running = undefined;
      assert.deepEqual(gameServerProcesses(`GGSCALE_FLEET_OWNER=${nodeId}`), []);
    });
  });
}
