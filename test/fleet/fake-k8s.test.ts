import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../support/eventually.js';
import { startFakeK8s, type FakeK8s, type GameServer, type K8sStatus } from '../support/fake-k8s/index.js';

interface GameServerList {
  kind: string;
  items: GameServer[];
}

/** The parts of a GameServerAllocation response these tests read. */
interface Allocation {
  kind: string;
  status: {
    state: string;
    gameServerName: string;
    address?: string;
    ports?: Array<{ name: string; port: number }>;
    nodeName?: string;
  };
}

const NS = 'default';
const GS = { group: 'agones.dev', version: 'v1', namespace: NS, plural: 'gameservers' } as const;
const GSA = { group: 'allocation.agones.dev', version: 'v1', namespace: NS, plural: 'gameserverallocations' } as const;
const WATCH_PATH = `/apis/agones.dev/v1/namespaces/${NS}/gameservers`;

async function setup(t: { after(fn: () => unknown): void }): Promise<{ fake: FakeK8s; api: k8s.CustomObjectsApi; kc: k8s.KubeConfig }> {
  const fake = await startFakeK8s();
  t.after(() => fake.close());
  const kc = fake.kubeConfig();
  return { fake, kc, api: kc.makeApiClient(k8s.CustomObjectsApi) };
}

/** 1.x throws ApiException whose `body` is the raw response text. */
async function statusOf(p: Promise<unknown>): Promise<{ code: number; body: K8sStatus }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof k8s.ApiException, `expected ApiException, got ${String(err)}`);
    return { code: err.code, body: JSON.parse(err.body as string) as K8sStatus };
  }
  throw new Error('expected the call to fail');
}

async function allocate(api: k8s.CustomObjectsApi, spec: unknown): Promise<Allocation> {
  return (await api.createNamespacedCustomObject({
    ...GSA,
    body: { apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec },
  })) as Allocation;
}

function addReady(fake: FakeK8s, name: string, labels: Record<string, string> = {}): GameServer {
  return fake.addGameServer(NS, { metadata: { name, labels } });
}

test('lists (with labelSelector), gets and deletes GameServers through the real client', async (t) => {
  const { fake, api } = await setup(t);
  addReady(fake, 'a', { 'agones.dev/fleet': 'f1' });
  addReady(fake, 'b', { 'agones.dev/fleet': 'f1', tier: 'gold' });
  addReady(fake, 'c', { 'agones.dev/fleet': 'f2' });
  fake.addGameServer('other', { metadata: { name: 'elsewhere' } });

  const all = (await api.listNamespacedCustomObject({ ...GS })) as GameServerList;
  assert.equal(all.kind, 'GameServerList');
  assert.deepEqual(all.items.map((i: GameServer) => i.metadata.name), ['a', 'b', 'c']);
  const f1 = (await api.listNamespacedCustomObject({ ...GS, labelSelector: 'agones.dev/fleet=f1,tier!=gold' })) as GameServerList;
  assert.deepEqual(f1.items.map((i: GameServer) => i.metadata.name), ['a']);
  assert.ok(fake.requests.some((r) => r.method === 'GET' && r.query.labelSelector === 'agones.dev/fleet=f1,tier!=gold'));

  const b = (await api.getNamespacedCustomObject({ ...GS, name: 'b' })) as GameServer;
  assert.equal(b.apiVersion, 'agones.dev/v1');
  assert.equal(b.kind, 'GameServer');
  assert.equal(b.status?.state, 'Ready');
  assert.equal(typeof b.status?.address, 'string');
  assert.equal(typeof b.status?.ports[0]?.port, 'number');
  assert.equal(typeof b.status?.nodeName, 'string');

  const missing = await statusOf(api.getNamespacedCustomObject({ ...GS, name: 'nope' }));
  assert.equal(missing.code, 404);
  assert.equal(missing.body.kind, 'Status');
  assert.equal(missing.body.reason, 'NotFound');

  await api.deleteNamespacedCustomObject({ ...GS, name: 'a' });
  assert.equal(fake.getGameServer(NS, 'a'), undefined);
  assert.equal((await statusOf(api.deleteNamespacedCustomObject({ ...GS, name: 'a' }))).code, 404);
});

test('a client Watch sees ADDED/MODIFIED/DELETED, ends on endWatches(), and can resume from a resourceVersion', async (t) => {
  const { fake, api, kc } = await setup(t);
  addReady(fake, 'existing');
  const events: Array<{ type: string; name: string; rv: string }> = [];
  let doneErr: unknown = 'not called';
  const watch = new k8s.Watch(kc);
  await watch.watch(WATCH_PATH, {}, (type, obj: GameServer) => {
    events.push({ type, name: obj.metadata.name, rv: obj.metadata.resourceVersion });
  }, (err: unknown) => {
    doneErr = err;
  });

  // Without a resourceVersion the watch starts with the current objects, as the real API does.
  await eventually(() => events.length === 1, 3000, 'initial ADDED');
  addReady(fake, 'fresh');
  fake.setState(NS, 'fresh', 'Allocated');
  await api.deleteNamespacedCustomObject({ ...GS, name: 'existing' });
  await eventually(() => events.length === 4, 3000, 'three more events');
  assert.deepEqual(events.map((e) => `${e.type} ${e.name}`), ['ADDED existing', 'ADDED fresh', 'MODIFIED fresh', 'DELETED existing']);

  fake.endWatches();
  await eventually(() => doneErr !== 'not called', 3000, 'done callback');
  assert.equal(doneErr, null);

  // Changes made while nobody watched are replayed to a watch resuming from the last seen version.
  const lastSeen = events[events.length - 1]!.rv;
  fake.setState(NS, 'fresh', 'Shutdown');
  const resumed: string[] = [];
  await watch.watch(WATCH_PATH, { resourceVersion: lastSeen }, (type, obj: GameServer) => {
    resumed.push(`${type} ${obj.metadata.name} ${obj.status?.state}`);
  }, () => {});
  await eventually(() => resumed.length === 1, 3000, 'replayed event');
  assert.deepEqual(resumed, ['MODIFIED fresh Shutdown']);
  assert.equal(fake.openWatchCount(), 1);
});

test('a watch from a compacted resourceVersion gets a 410 Expired ERROR event', async (t) => {
  const { fake, kc } = await setup(t);
  const first = addReady(fake, 'x');
  fake.setState(NS, 'x', 'Allocated');
  fake.compactHistory();
  const got: Array<{ type: string; obj: K8sStatus }> = [];
  await new k8s.Watch(kc).watch(WATCH_PATH, { resourceVersion: first.metadata.resourceVersion }, (type, obj: K8sStatus) => got.push({ type, obj }), () => {});
  await eventually(() => got.length === 1, 3000, 'ERROR event');
  assert.equal(got[0]!.type, 'ERROR');
  assert.equal(got[0]!.obj.code, 410);
  assert.equal(got[0]!.obj.reason, 'Expired');
});

test('allocation moves a matching Ready server to Allocated, applies metadata and emits MODIFIED', async (t) => {
  const { fake, api, kc } = await setup(t);
  addReady(fake, 'gs-1', { 'agones.dev/fleet': 'arena', region: 'eu' });
  const events: string[] = [];
  await new k8s.Watch(kc).watch(WATCH_PATH, {}, (type, obj: GameServer) => events.push(`${type} ${obj.metadata.name} ${obj.status?.state}`), () => {});
  await eventually(() => events.length === 1, 3000, 'initial ADDED');

  const res = await allocate(api, {
    selectors: [{ matchLabels: { 'agones.dev/fleet': 'arena' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['eu', 'us'] }] }],
    metadata: { labels: { 'ggscale.io/tenant': 't1' }, annotations: { 'ggscale.io/match': 'm-42' } },
  });
  assert.equal(res.kind, 'GameServerAllocation');
  assert.equal(res.status.state, 'Allocated');
  assert.equal(res.status.gameServerName, 'gs-1');
  const gs = fake.getGameServer(NS, 'gs-1')!;
  assert.equal(res.status.address, gs.status?.address);
  assert.deepEqual(res.status.ports, gs.status?.ports);
  assert.equal(res.status.nodeName, gs.status?.nodeName);
  assert.equal(gs.status?.state, 'Allocated');
  assert.equal(gs.metadata.labels?.['ggscale.io/tenant'], 't1');
  assert.equal(gs.metadata.annotations?.['ggscale.io/match'], 'm-42');
  assert.ok(gs.metadata.annotations?.['agones.dev/last-allocated'], 'Agones stamps agones.dev/last-allocated');
  await eventually(() => events.includes('MODIFIED gs-1 Allocated'), 3000, 'MODIFIED event');

  // Nothing Ready is left: the real API still answers 201, with state UnAllocated.
  const none = await allocate(api, { selectors: [{ matchLabels: { 'agones.dev/fleet': 'arena' } }] });
  assert.equal(none.status.state, 'UnAllocated');
  assert.equal(none.status.gameServerName, '');
});

test('selectors are tried in order and honour every matchExpressions operator and gameServerState', async (t) => {
  const { fake, api } = await setup(t);
  addReady(fake, 'canary', { track: 'canary', map: 'dust' });
  addReady(fake, 'stable', { track: 'stable' });
  fake.addGameServer(NS, { metadata: { name: 'busy', labels: { track: 'stable', room: 'r1' } }, status: { state: 'Allocated' } });

  const miss = { matchLabels: { track: 'nightly' } };
  const stable = { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }, { key: 'room', operator: 'DoesNotExist' }] };
  assert.equal((await allocate(api, { selectors: [miss, stable] })).status.gameServerName, 'stable');
  const canary = { matchExpressions: [{ key: 'map', operator: 'Exists' }] };
  assert.equal((await allocate(api, { selectors: [canary, stable] })).status.gameServerName, 'canary');
  // An Allocated server is only reachable when a selector asks for that state.
  const again = { gameServerState: 'Allocated', matchLabels: { room: 'r1' } };
  assert.equal((await allocate(api, { selectors: [{ matchLabels: { room: 'r1' } }] })).status.state, 'UnAllocated');
  assert.equal((await allocate(api, { selectors: [again] })).status.gameServerName, 'busy');
});

test('20 concurrent allocations against 10 Ready servers: exactly 10 win, none twice', async (t) => {
  const { fake, api } = await setup(t);
  for (let i = 0; i < 10; i++) addReady(fake, `gs-${i}`, { 'agones.dev/fleet': 'f' });
  const results = await Promise.all(
    Array.from({ length: 20 }, () => allocate(api, { selectors: [{ matchLabels: { 'agones.dev/fleet': 'f' } }] })),
  );
  const won = results.filter((r) => r.status.state === 'Allocated').map((r) => r.status.gameServerName);
  assert.equal(won.length, 10);
  assert.equal(new Set(won).size, 10);
  assert.equal(results.filter((r) => r.status.state === 'UnAllocated').length, 10);
  assert.ok(fake.listGameServers(NS).every((g) => g.status?.state === 'Allocated'));
});

test('invalid allocation specs are rejected with a 422 Invalid Status', async (t) => {
  const { fake, api } = await setup(t);
  addReady(fake, 'gs-1');
  const bad: Array<[string, unknown]> = [
    ['selectors not an array', { selectors: { matchLabels: { a: 'b' } } }],
    ['matchLabels not a map', { selectors: [{ matchLabels: ['a'] }] }],
    ['matchLabels value not a string', { selectors: [{ matchLabels: { a: 1 } }] }],
    ['unknown operator', { selectors: [{ matchExpressions: [{ key: 'a', operator: 'Near', values: ['x'] }] }] }],
    ['In without values', { selectors: [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }] }],
    ['Exists with values', { selectors: [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }] }],
    ['unknown gameServerState', { selectors: [{ gameServerState: 'Shutdown' }] }],
    ['bad scheduling', { scheduling: 'Random' }],
    ['bad label value in metadata', { metadata: { labels: { tenant: 'has spaces' } } }],
  ];
  for (const [why, spec] of bad) {
    const { code, body } = await statusOf(allocate(api, spec));
    assert.equal(code, 422, why);
    assert.equal(body.kind, 'Status', why);
    assert.equal(body.reason, 'Invalid', why);
    assert.ok((body.details?.causes?.length ?? 0) > 0, why);
  }
  assert.equal(fake.getGameServer(NS, 'gs-1')?.status?.state, 'Ready', 'nothing was allocated');
});

test('allocations cannot be read back: GET and LIST answer 405', async (t) => {
  const { api } = await setup(t);
  const list = await statusOf(api.listNamespacedCustomObject({ ...GSA }));
  assert.equal(list.code, 405);
  assert.equal(list.body.reason, 'MethodNotAllowed');
  assert.equal((await statusOf(api.getNamespacedCustomObject({ ...GSA, name: 'x' }))).code, 405);
});

test('updates use resourceVersion optimistic concurrency: stale writes get 409 Conflict', async (t) => {
  const { fake, api } = await setup(t);
  const created = addReady(fake, 'gs-1');
  const staleRv = created.metadata.resourceVersion;

  // The 1.x client sends JSON Patch (application/json-patch+json) by default.
  const patched = (await api.patchNamespacedCustomObject({
    ...GS, name: 'gs-1', body: [{ op: 'replace', path: '/status/state', value: 'Reserved' }],
  })) as GameServer;
  assert.equal(patched.status?.state, 'Reserved');
  assert.ok(Number(patched.metadata.resourceVersion) > Number(staleRv), 'each change bumps the resourceVersion');

  // A stale resourceVersion carried by the patch is a precondition: 409.
  const conflict = await statusOf(api.patchNamespacedCustomObject({
    ...GS, name: 'gs-1',
    body: [{ op: 'replace', path: '/metadata/resourceVersion', value: staleRv }, { op: 'replace', path: '/status/state', value: 'Ready' }],
  }));
  assert.equal(conflict.code, 409);
  assert.equal(conflict.body.reason, 'Conflict');
  // A failed JSON Patch `test` op is a 422, as in the apiserver.
  const failedTest = await statusOf(api.patchNamespacedCustomObject({
    ...GS, name: 'gs-1', body: [{ op: 'test', path: '/metadata/resourceVersion', value: staleRv }],
  }));
  assert.equal(failedTest.code, 422);

  // PUT: stale version conflicts; the current one wins and bumps the version.
  const stale = { ...patched, metadata: { ...patched.metadata, resourceVersion: staleRv } };
  assert.equal((await statusOf(api.replaceNamespacedCustomObject({ ...GS, name: 'gs-1', body: stale }))).code, 409);
  const fresh = { ...patched, status: { ...patched.status, state: 'Ready' } };
  const replaced = (await api.replaceNamespacedCustomObject({ ...GS, name: 'gs-1', body: fresh })) as GameServer;
  assert.equal(replaced.status?.state, 'Ready');
  assert.notEqual(replaced.metadata.resourceVersion, patched.metadata.resourceVersion);
  assert.equal(fake.getGameServer(NS, 'gs-1')?.status?.state, 'Ready');
  // Custom resources require a resourceVersion on PUT.
  const noRv = { ...replaced, metadata: { ...replaced.metadata, resourceVersion: undefined } };
  assert.equal((await statusOf(api.replaceNamespacedCustomObject({ ...GS, name: 'gs-1', body: noRv }))).code, 422);
});

test('merge patches work too and are checked against resourceVersion', async (t) => {
  const { fake, api } = await setup(t);
  const created = addReady(fake, 'gs-1');
  const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const patched = (await api.patchNamespacedCustomObject(
    { ...GS, name: 'gs-1', body: { metadata: { labels: { drained: 'true' } } } }, opts)) as GameServer;
  assert.equal(patched.metadata.labels?.drained, 'true');
  const conflict = await statusOf(api.patchNamespacedCustomObject(
    { ...GS, name: 'gs-1', body: { metadata: { resourceVersion: created.metadata.resourceVersion, labels: { x: 'y' } } } }, opts));
  assert.equal(conflict.code, 409);
  assert.equal(fake.getGameServer(NS, 'gs-1')?.metadata.labels?.x, undefined);
});

test('the Contention hook makes the next N allocations report Contention', async (t) => {
  const { fake, api } = await setup(t);
  addReady(fake, 'gs-1');
  fake.injectContention(2);
  assert.equal((await allocate(api, {})).status.state, 'Contention');
  assert.equal((await allocate(api, {})).status.state, 'Contention');
  assert.equal(fake.getGameServer(NS, 'gs-1')?.status?.state, 'Ready');
  const res = await allocate(api, {});
  assert.equal(res.status.state, 'Allocated');
  assert.equal(res.status.gameServerName, 'gs-1');
});

test('unknown paths answer a 404 Status', async (t) => {
  const { fake } = await setup(t);
  const res = await fetch(`${fake.url}/apis/agones.dev/v1/namespaces/default/fleets`);
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { kind: string }).kind, 'Status');
});
