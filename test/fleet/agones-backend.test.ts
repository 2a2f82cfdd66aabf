/**
 * The Agones backend's contract suite, driven through the real @kubernetes/client-node against the
 * in-process fake Kubernetes API (test/support/fake-k8s): allocations are GameServerAllocations whose
 * selector always carries the fleet's own labels, UnAllocated is a 503, Contention is retried with a
 * bound, release deletes the GameServer, the watch keeps allocations honest (and survives ended and
 * expired watches), TTLs expire, and a restart reconciles vanished and leaked game servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { startFakeK8s, type FakeK8s } from '../support/fake-k8s/index.js';
import { freePort } from '../support/process.js';
import { eventually } from '../support/eventually.js';
import { createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';
import { loadFleetConfig } from '../../src/modules/fleet/config.js';
import { AgonesBackend } from '../../src/modules/fleet/agones/agones-backend.js';
import { AppError } from '../../src/internal/errors/app-error.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { allocate, getAllocation, metricValue, release, type AllocationBody } from './helpers.js';

const NS = 'default';

/** A kubeconfig file for a server (plain HTTP needs insecure-skip-tls-verify in client-node 1.x). */
function writeKubeconfig(dir: string, server: string): string {
  const file = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'fake-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: NS } }],
      'current-context': 'fake',
    }),
  );
  return file;
}

for (const kind of databaseKinds()) {
  describe(`Agones fleet backend against the fake Kubernetes API (${kind.name})`, () => {
    let database: TestDatabase;
    let fake: FakeK8s;
    let dir: string;
    let env: Record<string, string>;
    let t: TestApp;
    let a: TestProject;
    let b: TestProject;
    let serial = 0;

    const addServer = (project: TestProject, labels: Record<string, string> = {}, status: Record<string, unknown> = {}) => {
      const name = `gs-${++serial}`;
      fake.addGameServer(NS, {
        metadata: { name, labels: { 'agones.dev/fleet': 'arena', 'ggscale.dev/project': project.projectId, tier: 'gold', ...labels } },
        spec: { ports: [{ name: 'default', containerPort: 7654, protocol: 'UDP' }] },
        status,
      });
      return name;
    };
    const allocationPosts = () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/gameserverallocations'));
    const stateOf = async (p: TestProject, id: string) => (await getAllocation(t.app, p, id)).json<AllocationBody>().state;
    const take = async (p: TestProject, body: unknown = { fleet: 'arena' }) => {
      const res = await allocate(t.app, p, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json<AllocationBody>();
    };

    before(async () => {
      database = await kind.create();
      fake = await startFakeK8s();
      dir = mkdtempSync(join(tmpdir(), 'ggscale-agones-'));
      env = {
        FLEET_BACKEND: 'agones',
        KUBECONFIG: writeKubeconfig(dir, fake.url),
        FLEET_AGONES_NAMESPACE: NS,
        FLEET_SWEEP_INTERVAL_MS: '100',
        FLEET_AGONES_CONTENTION_RETRIES: '3',
      };
      t = await buildTestApp({ db: database.db, env });
      a = await createProject(t.app, await createTenant(t.app));
      b = await createProject(t.app, await createTenant(t.app));
      for (const p of [a, b]) {
        const res = await operator(t.app, 'POST', `/v1/admin/projects/${p.projectId}/fleets`, { name: 'arena', backend: 'agones', labels: { tier: 'gold' } });
        assert.equal(res.statusCode, 201, res.body);
      }
      await eventually(async () => fake.openWatchCount() === 1, 10_000, 'the GameServer watch is open');
    });
    after(async () => {
      await t.close();
      await fake.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('registers Agones fleets only with Agones settings; there is no default fleet', async () => {
      const url = `/v1/admin/projects/${a.projectId}/fleets`;
      assert.equal((await operator(t.app, 'POST', url, { name: 'x', backend: 'local' })).statusCode, 400);
      assert.equal((await operator(t.app, 'POST', url, { name: 'x', backend: 'agones', command: ['run'] })).statusCode, 400);
      const list = await operator(t.app, 'GET', url);
      assert.deepEqual(list.json<{ items: Array<{ name: string }> }>().items.map((f) => f.name), ['arena']);
      assert.equal((await allocate(t.app, a, { fleet: 'default' })).statusCode, 404);
    });

    it('allocates with a GameServerAllocation whose selector always carries the fleet\'s own labels', async () => {
      const name = addServer(a, { region: 'eu' });
      const posts = allocationPosts().length;
      const allocation = await take(a, { fleet: 'arena', labels: { region: 'eu' }, metadata: { labels: { mode: 'duel' }, annotations: { note: 'first' } } });
      const gs = fake.getGameServer(NS, name)!;
      assert.equal(allocation.game_server, name);
      assert.equal(allocation.address, gs.status!.address);
      assert.deepEqual(allocation.ports, [{ name: 'default', port: gs.status!.ports[0]!.port, protocol: 'UDP' }]);
      const [post] = allocationPosts().slice(posts);
      const spec = (post!.body as { spec: { selectors: Array<{ matchLabels: Record<string, string> }>; metadata: { labels: Record<string, string>; annotations: Record<string, string> } } }).spec;
      assert.deepEqual(spec.selectors, [{ matchLabels: { region: 'eu', tier: 'gold', 'agones.dev/fleet': 'arena', 'ggscale.dev/project': a.projectId } }]);
      assert.deepEqual(spec.metadata.labels, { mode: 'duel', 'ggscale.dev/allocation': allocation.id });
      assert.deepEqual(spec.metadata.annotations, { note: 'first', 'ggscale.dev/tenant': a.tenantId });
      // Atomically Allocated on the cluster, with the metadata applied.
      assert.equal(gs.status!.state, 'Allocated');
      assert.equal(gs.metadata.labels?.mode, 'duel');
      assert.equal(gs.metadata.annotations?.note, 'first');
      // Allocations are create-only in Agones: ggscale never tries to read or list them.
      assert.ok(fake.requests.filter((r) => r.path.includes('gameserverallocations')).every((r) => r.method === 'POST'));
    });

    it('never hands a project another project\'s game server; UnAllocated is 503 + Retry-After', async () => {
      const ofA = addServer(a);
      const res = await allocate(t.app, b, { fleet: 'arena' });
      assert.equal(res.statusCode, 503, res.body);
      assert.ok(Number(res.headers['retry-after']) >= 1);
      assert.equal(fake.getGameServer(NS, ofA)!.status!.state, 'Ready', 'A\'s server was not touched');
      assert.equal((await allocate(t.app, b, { fleet: 'arena', labels: { 'ggscale.dev/project': a.projectId } })).statusCode, 400);
      assert.equal((await allocate(t.app, b, { fleet: 'arena', metadata: { labels: { 'agones.dev/fleet': 'other' } } })).statusCode, 400);
      const own = await take(a);
      assert.equal(own.game_server, ofA);
    });

    it('retries Contention with backoff, a bounded number of times', async () => {
      const name = addServer(a);
      fake.injectContention(2);
      let posts = allocationPosts().length;
      const won = await take(a);
      assert.equal(won.game_server, name);
      assert.equal(allocationPosts().length - posts, 3, 'two Contention answers, then success');

      const spare = addServer(a);
      fake.injectContention(100);
      posts = allocationPosts().length;
      const lost = await allocate(t.app, a, { fleet: 'arena' });
      assert.equal(lost.statusCode, 503);
      assert.equal(allocationPosts().length - posts, 4, 'FLEET_AGONES_CONTENTION_RETRIES=3: four attempts in all');
      fake.injectContention(0);
      assert.equal(fake.getGameServer(NS, spare)!.status!.state, 'Ready');
      fake.deleteGameServer(NS, spare);
    });

    it('releases by deleting the GameServer', async () => {
      addServer(a);
      const allocation = await take(a);
      assert.ok(fake.getGameServer(NS, allocation.game_server));
      assert.equal((await release(t.app, a, allocation.id)).statusCode, 204);
      assert.equal(fake.getGameServer(NS, allocation.game_server), undefined);
      assert.equal(await stateOf(a, allocation.id), 'Released');
      assert.equal((await release(t.app, a, allocation.id)).statusCode, 204);
    });

    it('ends allocations when the watch sees their GameServer turn Unhealthy, shut down or disappear', async () => {
      const [x, y, z] = [addServer(a), addServer(a), addServer(a)];
      const [ax, ay, az] = [await take(a), await take(a), await take(a)];
      assert.deepEqual([ax, ay, az].map((al) => al.game_server).sort(), [x, y, z].sort());
      const byServer = new Map([ax, ay, az].map((al) => [al.game_server, al.id]));
      fake.setState(NS, x, 'Unhealthy');
      fake.setState(NS, y, 'Shutdown');
      fake.deleteGameServer(NS, z);
      await eventually(async () => (await stateOf(a, byServer.get(x)!)) === 'Lost', 5_000, 'Unhealthy → Lost');
      await eventually(async () => (await stateOf(a, byServer.get(y)!)) === 'Ended', 5_000, 'Shutdown → Ended');
      await eventually(async () => (await stateOf(a, byServer.get(z)!)) === 'Lost', 5_000, 'deleted → Lost');
    });

    it('re-watches from the last resourceVersion when a watch ends, and relists after 410 Expired', async () => {
      const watches = () => fake.requests.filter((r) => r.query.watch === 'true');
      const lists = () => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/gameservers') && r.query.watch !== 'true');
      const before = watches().length;
      fake.endWatches();
      await eventually(async () => watches().length > before && fake.openWatchCount() === 1, 5_000, 're-watched');
      assert.match(watches().at(-1)!.query.resourceVersion ?? '', /^\d+$/, 'resumed from a resourceVersion');

      const name = addServer(a);
      const allocation = await take(a);
      const listsBefore = lists().length;
      // While no watch is open, history moves on and is compacted past the version ggscale last saw.
      fake.endWatches();
      const moved = addServer(b);
      fake.compactHistory();
      fake.setState(NS, name, 'Unhealthy');
      await eventually(async () => lists().length > listsBefore, 5_000, 'relisted after 410');
      await eventually(async () => (await stateOf(a, allocation.id)) === 'Lost', 5_000, 'the change made while the watch was down is seen');
      await eventually(async () => fake.openWatchCount() === 1, 5_000, 'watching again');
      fake.deleteGameServer(NS, moved);
    });

    it('expires allocations at their TTL by deleting their GameServer', async () => {
      const res = await operator(t.app, 'POST', `/v1/admin/projects/${b.projectId}/fleets`, { name: 'short', backend: 'agones', agones_fleet: 'arena', allocation_ttl_seconds: 1 });
      assert.equal(res.statusCode, 201, res.body);
      addServer(b);
      const allocation = await take(b, { fleet: 'short' });
      await eventually(async () => (await stateOf(b, allocation.id)) === 'Expired', 5_000, 'Expired');
      await eventually(async () => fake.getGameServer(NS, allocation.game_server) === undefined, 5_000, 'its GameServer deleted');
    });

    it('reports Ready game servers from the watch', async () => {
      const ready = fake.listGameServers(NS).filter((gs) => gs.status?.state === 'Ready' && gs.metadata.labels?.['ggscale.dev/project']).length;
      await eventually(async () => (await metricValue(t.app, 'ggscale_fleet_ready_game_servers', { backend: 'agones' })) === ready, 5_000, 'the gauge matches the cluster');
    });

    it('after a restart, marks allocations whose GameServer vanished Lost and deletes leaked GameServers', async () => {
      addServer(a);
      const allocation = await take(a);
      await t.close();
      // While ggscale was down: its server vanished, and a server was left allocated for nothing.
      fake.deleteGameServer(NS, allocation.game_server);
      const leaked = addServer(a, { 'ggscale.dev/allocation': '987654321' }, { state: 'Allocated' });
      const bystander = addServer(a, {}, { state: 'Allocated' }); // allocated outside ggscale: not ours to touch
      t = await buildTestApp({ db: database.db, env });
      await eventually(async () => (await stateOf(a, allocation.id)) === 'Lost', 10_000, 'the vanished server\'s allocation is Lost');
      await eventually(async () => fake.getGameServer(NS, leaked) === undefined, 10_000, 'the leaked GameServer is deleted');
      assert.ok(fake.getGameServer(NS, bystander));
    });

    it('needs no permission beyond the Role shipped in deploy/agones/rbac.yaml', async () => {
      const k8s = await import('@kubernetes/client-node');
      const docs = k8s.loadAllYaml(readFileSync(new URL('../../deploy/agones/rbac.yaml', import.meta.url), 'utf8')) as Array<{
        kind: string;
        rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
      }>;
      const rules = docs.find((d) => d.kind === 'Role')!.rules!;
      const allowed = (group: string, resource: string, verb: string) =>
        rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
      const used = new Set<string>();
      for (const r of fake.requests) {
        const m = /^\/apis\/([^/]+)\/v1\/namespaces\/[^/]+\/([^/]+)(\/[^/]+)?$/.exec(r.path);
        if (!m) continue;
        const verb = r.method === 'GET' ? (m[3] ? 'get' : r.query.watch === 'true' ? 'watch' : 'list') : { POST: 'create', DELETE: 'delete', PATCH: 'patch', PUT: 'update' }[r.method]!;
        used.add(`${verb} ${m[2]}.${m[1]}`);
        assert.ok(allowed(m[1]!, m[2]!, verb), `${verb} ${m[2]}.${m[1]} is not in the Role`);
      }
      assert.ok(used.has('create gameserverallocations.allocation.agones.dev') && used.has('watch gameservers.agones.dev') && used.has('delete gameservers.agones.dev'));
    });

    it('maps a 422 from the cluster to 400, and an unreachable cluster to 503', async () => {
      const config = loadFleetConfig({ FLEET_BACKEND: 'agones', KUBECONFIG: env.KUBECONFIG, FLEET_AGONES_CONTENTION_RETRIES: '0' }).agones;
      const direct = new AgonesBackend({ config, logger: createLogger({ level: 'silent' }) });
      await direct.start();
      try {
        const fleet = { tenantId: a.tenantId, projectId: a.projectId, fleetId: '1', name: 'arena', labels: {}, command: null, agonesFleet: null };
        await assert.rejects(
          direct.allocate({ fleet, allocationId: '1', selector: { tier: 'not valid!' }, metadata: { labels: {}, annotations: {} } }),
          (error: unknown) => error instanceof AppError && error.status === 400 && /refused/.test(error.message),
        );
      } finally {
        await direct.close();
      }

      const deadPort = await freePort();
      const dead = await buildTestApp({ db: database.db, env: { ...env, KUBECONFIG: writeKubeconfig(dir, `http://127.0.0.1:${deadPort}`) } });
      try {
        const res = await allocate(dead.app, a, { fleet: 'arena' });
        assert.equal(res.statusCode, 503, res.body);
        assert.ok(Number(res.headers['retry-after']) >= 1);
      } finally {
        await dead.close();
      }
      const missing = await buildTestApp({ db: database.db, env: { ...env, KUBECONFIG: join(dir, 'no-such-file') } });
      try {
        assert.equal((await allocate(missing.app, a, { fleet: 'arena' })).statusCode, 503);
      } finally {
        await missing.close();
      }
    });
  });
}
