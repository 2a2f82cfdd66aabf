/**
 * The seed's smoke test against a real Kubernetes cluster with Agones: create a Fleet, wait for a Ready
 * GameServer, allocate it through ggscale, get `hello` echoed over UDP, release it, and hear nothing more.
 * It runs only where KUBECONFIG is set (and the cluster's node addresses are reachable over UDP from
 * here); elsewhere it reports itself skipped. GGSCALE_TEST_GAMESERVER_IMAGE picks the game-server image
 * (default: Agones' simple-game-server, which speaks the same protocol as `ggscale gameserver`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { buildTestApp } from '../support/app.js';
import { createPglite } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createProject, createTenant, operator } from '../support/tenancy.js';
import { allocate, release, udpAsk, type AllocationBody } from './helpers.js';

const kubeconfig = process.env.KUBECONFIG;
const namespace = process.env.FLEET_AGONES_NAMESPACE ?? 'default';
const image = process.env.GGSCALE_TEST_GAMESERVER_IMAGE ?? 'us-docker.pkg.dev/agones-images/examples/simple-game-server:0.17';
const skip = kubeconfig ? false : 'KUBECONFIG is not set: no real cluster to run against (the contract suite covers the Agones backend on a fake API)';

describe('Agones backend on a real cluster', () => {
  it('allocate → Ready → UDP hello → ACK: hello\\n → release → no answer', { skip, timeout: 300_000 }, async () => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const database = await createPglite();
    const t = await buildTestApp({ db: database.db, env: { FLEET_BACKEND: 'agones', KUBECONFIG: kubeconfig!, FLEET_AGONES_NAMESPACE: namespace } });
    const fleetName = `ggscale-smoke-${randomBytes(3).toString('hex')}`;
    const fleetRef = { group: 'agones.dev', version: 'v1', namespace, plural: 'fleets' };
    try {
      const project = await createProject(t.app, await createTenant(t.app));
      await api.createNamespacedCustomObject({
        ...fleetRef,
        body: {
          apiVersion: 'agones.dev/v1',
          kind: 'Fleet',
          metadata: { name: fleetName },
          spec: {
            replicas: 1,
            template: {
              metadata: { labels: { 'ggscale.dev/project': project.projectId } },
              spec: {
                ports: [{ name: 'default', containerPort: 7654, protocol: 'UDP' }],
                template: { spec: { containers: [{ name: 'echo', image, resources: { requests: { cpu: '20m', memory: '64Mi' } } }] } },
              },
            },
          },
        },
      });
      const registered = await operator(t.app, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, { name: fleetName, backend: 'agones' });
      assert.equal(registered.statusCode, 201, registered.body);

      await eventually(
        async () => {
          const list = (await api.listNamespacedCustomObject({ ...fleetRef, plural: 'gameservers', labelSelector: `agones.dev/fleet=${fleetName}` })) as {
            items: Array<{ status?: { state?: string } }>;
          };
          return list.items.some((gs) => gs.status?.state === 'Ready');
        },
        240_000,
        'a Ready GameServer',
        { everyMs: 1_000 }, // poll the apiserver gently
      );

      const res = await allocate(t.app, project, { fleet: fleetName });
      assert.equal(res.statusCode, 201, res.body);
      const allocation = res.json<AllocationBody>();
      const port = allocation.ports[0]!.port;
      assert.equal(await udpAsk(allocation.address, port, 'hello', 3000), 'ACK: hello\n');
      assert.equal((await release(t.app, project, allocation.id)).statusCode, 204);
      await eventually(async () => (await udpAsk(allocation.address, port, 'hello', 1000)) === undefined, 60_000, 'the released server is gone');
    } finally {
      await api.deleteNamespacedCustomObject({ ...fleetRef, name: fleetName }).catch(() => undefined);
      await t.close();
      await database.drop();
    }
  });
});
