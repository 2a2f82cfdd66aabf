/**
 * A fake Kubernetes API server that serves just what ggscale's Agones backend talks to —
 * GameServers (agones.dev/v1) and GameServerAllocations (allocation.agones.dev/v1) — with
 * the semantics that matter for correctness: resourceVersion concurrency, watch resume and
 * expiry, atomic allocation, and errors as `Status` objects. It runs in-process on a random
 * port over plain HTTP and is meant to be driven through the real @kubernetes/client-node.
 *
 *   const fake = await startFakeK8s();
 *   const api = fake.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { allocate } from './allocation.js';
import { parseSelectorQuery } from './selectors.js';
import { badRequest, methodNotAllowed, notFound, statusObject, StatusError } from './status.js';
import { GameServerStore, GROUP, RESOURCE, type GameServer, type GameServerInput } from './store.js';
import { WatchHub } from './watch.js';

export type { GameServer, GameServerInput, GameServerStatus, GameServerPort } from './store.js';
export type { K8sStatus } from './status.js';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  contentType: string;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface FakeK8s {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** A KubeConfig pointing at the fake (plain HTTP needs `skipTLSVerify: true` in client-node 1.x). */
  kubeConfig(): KubeConfig;
  /** The same as plain options, for `kc.loadFromOptions(...)` or writing a kubeconfig file. */
  kubeConfigOptions(): KubeConfigOptions;
  /** Stores a GameServer (status defaults to Ready with an address, a port and a node) and emits ADDED. */
  addGameServer(namespace: string, gs: GameServerInput): GameServer;
  /** Changes status.state, bumping the resourceVersion and emitting MODIFIED. */
  setState(namespace: string, name: string, state: string): GameServer;
  getGameServer(namespace: string, name: string): GameServer | undefined;
  /** Namespace undefined lists every namespace. */
  listGameServers(namespace?: string): GameServer[];
  /** Deletes as the API would, emitting DELETED. */
  deleteGameServer(namespace: string, name: string): GameServer;
  /** The next `count` allocations answer status.state "Contention" and change nothing. */
  injectContention(count: number): void;
  /** Forgets watch history: resuming from any older resourceVersion then yields a 410 ERROR event. */
  compactHistory(): void;
  /** Ends all open watch streams, so a client's re-watch path runs. */
  endWatches(): void;
  openWatchCount(): number;
  /** Every request received, in order (watch requests included). */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface KubeConfigOptions {
  clusters: Array<{ name: string; server: string; skipTLSVerify: boolean }>;
  users: Array<{ name: string; token: string }>;
  contexts: Array<{ name: string; cluster: string; user: string; namespace: string }>;
  currentContext: string;
}

const GS_PATH = /^\/apis\/agones\.dev\/v1\/(?:namespaces\/([^/]+)\/)?gameservers(?:\/([^/]+))?$/;
const GSA_PATH = /^\/apis\/allocation\.agones\.dev\/v1\/namespaces\/([^/]+)\/gameserverallocations(?:\/([^/]+))?$/;

export async function startFakeK8s(): Promise<FakeK8s> {
  const store = new GameServerStore();
  const watches = new WatchHub(store);
  const requests: RecordedRequest[] = [];
  let contention = 0;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const status = err instanceof StatusError ? err.status : statusObject(500, 'InternalError', String(err));
      if (!res.headersSent) json(res, status.code, status);
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type'] ?? '';
    const raw = await readBody(req);
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = { method, path: url.pathname, query, contentType, body: undefined };
    requests.push(record);
    if (raw !== '') {
      try {
        record.body = JSON.parse(raw) as unknown;
      } catch {
        throw badRequest('the request body is not valid JSON');
      }
    }
    const body = record.body;

    let m = GSA_PATH.exec(url.pathname);
    if (m) {
      // Agones registers only the "create" verb: allocations are never stored or readable.
      if (method !== 'POST' || m[2] !== undefined) throw methodNotAllowed(method, 'gameserverallocations.allocation.agones.dev');
      return json(res, 201, allocate(store, decodeURIComponent(m[1]!), body, () => contention > 0 && contention-- > 0));
    }
    m = GS_PATH.exec(url.pathname);
    if (!m) throw statusError404(url.pathname);
    const namespace = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (namespace === undefined && (name !== undefined || method !== 'GET')) throw statusError404(url.pathname);

    if (name === undefined) {
      if (method === 'POST') return json(res, 201, store.create(namespace!, asObject(body)));
      if (method !== 'GET') throw methodNotAllowed(method, `${RESOURCE}.${GROUP}`);
      const selector = parseSelectorQuery(query.labelSelector);
      const fields = parseFieldSelector(query.fieldSelector);
      const scope = namespace ?? fields.namespace;
      if (query.watch === 'true' || query.watch === '1') {
        return watches.start(res, {
          namespace: scope,
          selector,
          name: fields.name,
          resourceVersion: parseRv(query.resourceVersion),
          timeoutSeconds: query.timeoutSeconds ? Number(query.timeoutSeconds) : undefined,
        });
      }
      const items = store.list(scope, selector).filter((gs) => fields.name === undefined || gs.metadata.name === fields.name);
      return json(res, 200, { apiVersion: `${GROUP}/v1`, kind: 'GameServerList', metadata: { resourceVersion: store.resourceVersion }, items });
    }
    switch (method) {
      case 'GET': {
        const gs = store.get(namespace!, name);
        if (!gs) throw notFound(GROUP, RESOURCE, name);
        return json(res, 200, gs);
      }
      case 'PUT':
        return json(res, 200, store.replace(namespace!, name, body));
      case 'PATCH':
        return json(res, 200, store.patch(namespace!, name, contentType, body));
      case 'DELETE': {
        const pre = (body as { preconditions?: { resourceVersion?: string } } | undefined)?.preconditions;
        return json(res, 200, store.remove(namespace!, name, pre?.resourceVersion));
      }
      default:
        throw methodNotAllowed(method, `${RESOURCE}.${GROUP}`);
    }
  }

  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const options = (): KubeConfigOptions => ({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
    currentContext: 'fake',
  });

  return {
    url,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions(options());
      return kc;
    },
    kubeConfigOptions: options,
    addGameServer: (namespace, gs) => store.create(namespace, gs),
    setState: (namespace, name, state) =>
      store.mutate(namespace, name, (gs) => {
        if (gs.status) gs.status.state = state;
      }),
    getGameServer: (namespace, name) => store.get(namespace, name),
    listGameServers: (namespace) => store.list(namespace),
    deleteGameServer: (namespace, name) => store.remove(namespace, name),
    injectContention(count) {
      contention = count;
    },
    compactHistory: () => store.compact(),
    endWatches: () => watches.endAll(),
    openWatchCount: () => watches.count,
    requests,
    async close() {
      watches.endAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let raw = '';
  for await (const chunk of req) raw += String(chunk);
  return raw;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function statusError404(path: string): StatusError {
  return new StatusError(statusObject(404, 'NotFound', `the server could not find the requested resource (${path})`));
}

function parseRv(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid resource version: ${JSON.stringify(v)}`);
  return Number(v);
}

/** GameServers only support the generic metadata.name / metadata.namespace field selectors. */
function parseFieldSelector(v: string | undefined): { name?: string; namespace?: string } {
  const out: { name?: string; namespace?: string } = {};
  for (const term of (v ?? '').split(',').filter(Boolean)) {
    const m = /^metadata\.(name|namespace)==?(.*)$/.exec(term.trim());
    if (!m) throw badRequest(`"${term}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    out[m[1] as 'name' | 'namespace'] = m[2];
  }
  return out;
}
