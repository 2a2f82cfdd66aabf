/**
 * The two patch formats the apiserver accepts for custom resources: JSON Patch (RFC 6902,
 * what @kubernetes/client-node 1.x sends by default) and JSON Merge Patch (RFC 7386).
 * Strategic merge patch is not supported for custom resources, by the real API either.
 * Errors map to the apiserver's: an undecodable patch is 400, one that cannot be applied
 * (including a failed `test` op) is 422.
 */
import { badRequest, unprocessable } from './status.js';
import { isObject } from './selectors.js';

type Json = unknown;

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

export function applyJsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = structuredClone(doc);
  for (const [i, raw] of ops.entries()) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest(`invalid JSON Patch operation at index ${i}`);
    }
    out = applyOp(out, raw as unknown as Op);
  }
  return out;
}

function applyOp(doc: Json, op: Op): Json {
  switch (op.op) {
    case 'add':
      return put(doc, op.path, structuredClone(op.value), 'add');
    case 'replace':
      get(doc, op.path); // must exist
      return put(doc, op.path, structuredClone(op.value), 'replace');
    case 'remove':
      return remove(doc, op.path);
    case 'test':
      if (!deepEqual(get(doc, op.path), op.value)) throw unprocessable(`testing value ${op.path} failed: test failed`);
      return doc;
    case 'copy':
      return put(doc, op.path, structuredClone(get(doc, op.from ?? '')), 'add');
    case 'move': {
      const value = get(doc, op.from ?? '');
      return put(remove(doc, op.from ?? ''), op.path, value, 'add');
    }
    default:
      throw badRequest(`Unexpected kind: ${op.op}`);
  }
}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function child(container: Json, token: string, pointer: string): Json {
  if (Array.isArray(container) && /^\d+$/.test(token) && Number(token) < container.length) return container[Number(token)];
  if (isObject(container) && Object.hasOwn(container, token)) return container[token];
  throw unprocessable(`doc is missing path: "${pointer}": missing value`);
}

function get(doc: Json, pointer: string): Json {
  return tokens(pointer).reduce((node, t) => child(node, t, pointer), doc);
}

/** Returns the parent container and final token, so the caller can edit in place. */
function parentOf(doc: Json, pointer: string): { parent: Json; last: string } {
  const ts = tokens(pointer);
  const last = ts.pop();
  if (last === undefined) throw unprocessable('cannot address the document root here');
  return { parent: ts.reduce((node, t) => child(node, t, pointer), doc), last };
}

function put(doc: Json, pointer: string, value: Json, mode: 'add' | 'replace'): Json {
  if (pointer === '') return value;
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) {
    const idx = last === '-' ? parent.length : Number(last);
    if (!/^\d+$|^-$/.test(last) || idx > parent.length) throw unprocessable(`invalid array index in "${pointer}"`);
    if (mode === 'add') parent.splice(idx, 0, value);
    else parent[idx] = value;
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw unprocessable(`doc is missing path: "${pointer}": missing value`);
  }
  return doc;
}

function remove(doc: Json, pointer: string): Json {
  get(doc, pointer); // must exist
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isObject(parent)) delete parent[last];
  return doc;
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function applyMergePatch(doc: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(doc) ? structuredClone(doc) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
