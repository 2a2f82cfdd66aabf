/**
 * GameServerAllocation (allocation.agones.dev/v1), modelled on Agones' allocator:
 * - validation failures are a 422 `Invalid` Status with per-field causes;
 * - the deprecated `required`/`preferred` pair becomes `selectors` = [...preferred, required];
 * - selectors are tried in order; each matches servers in its `gameServerState` (default Ready);
 * - the winner gets spec.metadata labels/annotations, the `agones.dev/last-allocated`
 *   annotation and state Allocated, all in one synchronous write (hence no double allocation);
 * - success, no match and contention all answer 201, differing only in `status.state`.
 * The fake picks candidates in insertion order; real Agones prefers the most packed node.
 */
import { isObject, matchesSelector, validateLabelSelector, validateStringMap, type LabelSelector } from './selectors.js';
import { badRequest, cause, invalid, type StatusCause } from './status.js';
import type { GameServer, GameServerStore } from './store.js';

export const ALLOCATION_GROUP = 'allocation.agones.dev';
export const LAST_ALLOCATED = 'agones.dev/last-allocated';

interface Selector extends LabelSelector {
  gameServerState: 'Ready' | 'Allocated';
  [k: string]: unknown;
}

interface Spec {
  scheduling: string;
  selectors: Selector[];
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

export function validateSpec(spec: unknown): StatusCause[] {
  if (spec === undefined) return [];
  if (!isObject(spec)) return [cause('spec', 'must be an object')];
  const causes: StatusCause[] = [];
  if (spec.scheduling !== undefined && spec.scheduling !== 'Packed' && spec.scheduling !== 'Distributed') {
    causes.push(cause('spec.scheduling', `Invalid value: ${JSON.stringify(spec.scheduling)}, value must be either Packed or Distributed`));
  }
  const checkSelector = (s: unknown, field: string) => {
    if (!isObject(s)) return void causes.push(cause(field, 'must be an object'));
    causes.push(...validateLabelSelector(s, field));
    if (s.gameServerState !== undefined && s.gameServerState !== 'Ready' && s.gameServerState !== 'Allocated') {
      causes.push(cause(field, 'GameServerState value can only be Allocated or Ready'));
    }
  };
  for (const list of ['selectors', 'preferred'] as const) {
    const v = spec[list];
    if (v === undefined) continue;
    if (!Array.isArray(v)) causes.push(cause(`spec.${list}`, 'must be a list of selectors'));
    else v.forEach((s: unknown, i) => checkSelector(s, `spec.${list}[${i}]`));
  }
  if (spec.required !== undefined) checkSelector(spec.required, 'spec.required');
  const meta = spec.metadata;
  if (meta !== undefined && !isObject(meta)) causes.push(cause('spec.metadata', 'must be an object'));
  else if (meta) {
    causes.push(...validateStringMap(meta.labels, 'metadata.labels', true));
    causes.push(...validateStringMap(meta.annotations, 'metadata.annotations', false));
  }
  return causes;
}

/** Applies Agones' defaults to a validated spec (ApplyDefaults + Converter). */
function normalise(raw: unknown): Spec {
  const spec = isObject(raw) ? structuredClone(raw) : {};
  const list = (v: unknown): Selector[] => (Array.isArray(v) ? (v as Selector[]) : []);
  let selectors = list(spec.selectors);
  if (selectors.length === 0) selectors = [...list(spec.preferred), isObject(spec.required) ? (spec.required as Selector) : ({} as Selector)];
  return {
    ...spec,
    scheduling: typeof spec.scheduling === 'string' ? spec.scheduling : 'Packed',
    selectors: selectors.map((s) => ({ ...s, gameServerState: s.gameServerState ?? 'Ready' })),
    metadata: isObject(spec.metadata) ? spec.metadata : {},
  };
}

/**
 * Handles one POST. `takeContention` is the test hook: when it returns true the request
 * reports Contention without touching any server, as Agones does after losing its retries.
 */
export function allocate(store: GameServerStore, namespace: string, body: unknown, takeContention: () => boolean): Record<string, unknown> {
  if (!isObject(body)) throw badRequest('the body must be a GameServerAllocation object');
  const reqMeta = isObject(body.metadata) ? body.metadata : {};
  const causes = validateSpec(body.spec);
  if (causes.length > 0) {
    throw invalid(ALLOCATION_GROUP, 'GameServerAllocation', typeof reqMeta.name === 'string' ? reqMeta.name : '', causes);
  }
  const spec = normalise(body.spec);
  const respond = (status: Record<string, unknown>, name?: string) => ({
    apiVersion: `${ALLOCATION_GROUP}/v1`,
    kind: 'GameServerAllocation',
    metadata: { ...reqMeta, ...(name ? { name } : {}), namespace, creationTimestamp: new Date().toISOString() },
    spec,
    status,
  });
  if (takeContention()) return respond({ state: 'Contention', gameServerName: '' });

  for (const sel of spec.selectors) {
    const winner = store
      .list(namespace)
      .find((gs) => gs.status?.state === sel.gameServerState && !gs.metadata.deletionTimestamp && matchesSelector(sel, gs.metadata.labels));
    if (!winner) continue;
    const gs = store.mutate(namespace, winner.metadata.name, (draft) => markAllocated(draft, spec.metadata));
    return respond(
      {
        state: 'Allocated',
        gameServerName: gs.metadata.name,
        ports: gs.status?.ports ?? [],
        address: gs.status?.address ?? '',
        ...(Array.isArray(gs.status?.addresses) ? { addresses: gs.status.addresses } : {}),
        nodeName: gs.status?.nodeName ?? '',
        source: 'local',
        metadata: { labels: gs.metadata.labels ?? {}, annotations: gs.metadata.annotations ?? {} },
      },
      gs.metadata.name,
    );
  }
  return respond({ state: 'UnAllocated', gameServerName: '' });
}

function markAllocated(gs: GameServer, patch: Spec['metadata']): void {
  gs.metadata.labels = { ...gs.metadata.labels, ...patch.labels };
  // Agones re-stamps last-allocated even when re-allocating an Allocated server.
  gs.metadata.annotations = { ...gs.metadata.annotations, ...patch.annotations, [LAST_ALLOCATED]: new Date().toISOString() };
  if (gs.status) gs.status.state = 'Allocated';
}
