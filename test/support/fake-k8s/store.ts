/**
 * In-memory GameServer storage with the apiserver behaviours clients depend on: a single global
 * resourceVersion bumped by every write, optimistic concurrency on updates, and an event
 * history so a watch can resume from a resourceVersion (or be told it is too old).
 * Everything here is synchronous, which is what makes allocation atomic: no other request can
 * run between reading a Ready server and marking it Allocated.
 */
import { randomUUID } from 'node:crypto';
import { applyJsonPatch, applyMergePatch, deepEqual } from './patch.js';
import { isObject, matchesSelector, validateStringMap, type LabelSelector, type Labels } from './selectors.js';
import { alreadyExists, badRequest, cause, conflict, invalid, notFound, unsupportedMediaType } from './status.js';

export const GROUP = 'agones.dev';
export const RESOURCE = 'gameservers';

export interface GameServerPort {
  name: string;
  port: number;
  [k: string]: unknown;
}

export interface GameServerStatus {
  state: string;
  address: string;
  ports: GameServerPort[];
  nodeName: string;
  [k: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  labels?: Labels;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface GameServer {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Record<string, unknown>;
  status?: GameServerStatus;
  [k: string]: unknown;
}

/** What tests hand to addGameServer; everything else is defaulted (status defaults to Ready). */
export interface GameServerInput {
  metadata: { name?: string; generateName?: string; labels?: Labels; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Partial<GameServerStatus>;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  rv: number;
  object: GameServer;
  /** The object before a MODIFIED, so filtered watches can tell when it entered or left the filter. */
  previous?: GameServer;
}

/** Enough history for any test; older events are dropped as etcd compaction would. */
const MAX_HISTORY = 5000;

export class GameServerStore {
  private rv = 0;
  private readonly objects = new Map<string, GameServer>();
  private history: StoreEvent[] = [];
  /** A watch resuming from a resourceVersion below this has missed events: 410 Expired. */
  private compactedThrough = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private nextHostPort = 7000;

  get resourceVersion(): string {
    return String(this.rv);
  }

  get oldestResumable(): number {
    return this.compactedThrough;
  }

  create(namespace: string, input: GameServerInput | Record<string, unknown>): GameServer {
    const inMeta = isObject(input.metadata) ? input.metadata : {};
    let name = typeof inMeta.name === 'string' ? inMeta.name : '';
    if (!name && typeof inMeta.generateName === 'string') name = inMeta.generateName + randomUUID().slice(0, 5);
    if (!name) throw invalid(GROUP, 'GameServer', '', [cause('metadata.name', 'Required value: name or generateName is required')]);
    if (this.objects.has(key(namespace, name))) throw alreadyExists(GROUP, RESOURCE, name);
    const inStatus = isObject(input.status) ? input.status : {};
    const gs: GameServer = {
      ...structuredClone(input),
      apiVersion: `${GROUP}/v1`,
      kind: 'GameServer',
      metadata: {
        ...structuredClone(inMeta),
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: '',
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      spec: isObject(input.spec) ? structuredClone(input.spec) : {},
      status: {
        state: 'Ready',
        address: '127.0.0.1',
        ports: [{ name: 'default', port: this.nextHostPort++ }],
        nodeName: 'fake-node-1',
        ...structuredClone(inStatus),
      },
    };
    checkMetadata(gs);
    return this.commit('ADDED', gs);
  }

  get(namespace: string, name: string): GameServer | undefined {
    const gs = this.objects.get(key(namespace, name));
    return gs && structuredClone(gs);
  }

  /** Objects in insertion order; `namespace` undefined means all namespaces. */
  list(namespace?: string, selector?: LabelSelector): GameServer[] {
    return [...this.objects.values()]
      .filter((gs) => namespace === undefined || gs.metadata.namespace === namespace)
      .filter((gs) => !selector || matchesSelector(selector, gs.metadata.labels))
      .map((gs) => structuredClone(gs));
  }

  /** PUT: custom resources require the caller's resourceVersion, and it must be current. */
  replace(namespace: string, name: string, body: unknown): GameServer {
    const current = this.mustGet(namespace, name);
    if (!isObject(body) || !isObject(body.metadata)) throw badRequest('the body must be a GameServer object');
    if (body.metadata.name !== undefined && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${JSON.stringify(body.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const rv = body.metadata.resourceVersion;
    if (typeof rv !== 'string' || rv === '') {
      throw invalid(GROUP, 'GameServer', name, [cause('metadata.resourceVersion', 'Invalid value: 0x0: must be specified for an update')]);
    }
    if (rv !== current.metadata.resourceVersion) throw conflict(GROUP, RESOURCE, name);
    return this.write(current, structuredClone(body) as unknown as GameServer);
  }

  /** PATCH: a resourceVersion left in the patched object acts as a precondition, as in the apiserver. */
  patch(namespace: string, name: string, contentType: string, body: unknown): GameServer {
    const current = this.mustGet(namespace, name);
    const type = contentType.split(';')[0]?.trim() ?? '';
    let patched: unknown;
    if (type === 'application/json-patch+json') patched = applyJsonPatch(current, body);
    else if (type === 'application/merge-patch+json') patched = applyMergePatch(current, body);
    else throw unsupportedMediaType(type);
    if (!isObject(patched) || !isObject(patched.metadata)) throw badRequest('the patch must leave a GameServer object');
    const rv = patched.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(GROUP, RESOURCE, name);
    return this.write(current, patched as unknown as GameServer);
  }

  /** For hooks and allocation: change a stored object in place (no precondition) and emit MODIFIED. */
  mutate(namespace: string, name: string, change: (gs: GameServer) => void): GameServer {
    const current = this.mustGet(namespace, name);
    const next = structuredClone(current);
    change(next);
    return this.write(current, next);
  }

  remove(namespace: string, name: string, preconditionRv?: string): GameServer {
    const current = this.mustGet(namespace, name);
    if (preconditionRv && preconditionRv !== current.metadata.resourceVersion) throw conflict(GROUP, RESOURCE, name);
    return this.commit('DELETED', structuredClone(current));
  }

  /** Events after `rv`, or undefined when some of them were compacted away. */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedThrough) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Test hook: forget all history, so resuming from any older resourceVersion gets 410. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }

  private mustGet(namespace: string, name: string): GameServer {
    const gs = this.objects.get(key(namespace, name));
    if (!gs) throw notFound(GROUP, RESOURCE, name);
    return gs;
  }

  /** Shared tail of PUT/PATCH/mutate: keep server-owned fields, skip no-op writes (no new version). */
  private write(current: GameServer, next: GameServer): GameServer {
    const m = current.metadata;
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    next.metadata = { ...next.metadata, name: m.name, namespace: m.namespace, uid: m.uid, creationTimestamp: m.creationTimestamp };
    next.metadata.generation = deepEqual(next.spec, current.spec) ? m.generation : m.generation + 1;
    next.metadata.resourceVersion = m.resourceVersion;
    checkMetadata(next);
    if (deepEqual(next, current)) return structuredClone(current);
    return this.commit('MODIFIED', next, current);
  }

  private commit(type: EventType, gs: GameServer, previous?: GameServer): GameServer {
    this.rv++;
    gs.metadata.resourceVersion = String(this.rv);
    const k = key(gs.metadata.namespace, gs.metadata.name);
    if (type === 'DELETED') this.objects.delete(k);
    else this.objects.set(k, gs);
    const event: StoreEvent = { type, rv: this.rv, object: structuredClone(gs), previous: previous && structuredClone(previous) };
    this.history.push(event);
    if (this.history.length > MAX_HISTORY) this.compactedThrough = this.history.shift()?.rv ?? this.compactedThrough;
    for (const listener of this.listeners) listener(event);
    return structuredClone(gs);
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Labels and annotations must be valid on every write, as on a real cluster. */
function checkMetadata(gs: GameServer): void {
  const causes = [
    ...validateStringMap(gs.metadata.labels, 'metadata.labels', true),
    ...validateStringMap(gs.metadata.annotations, 'metadata.annotations', false),
  ];
  if (causes.length > 0) throw invalid(GROUP, 'GameServer', gs.metadata.name, causes);
}
