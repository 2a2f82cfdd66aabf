/**
 * Random mixes for the isolation fuzzer, driven by the OpenAPI document itself: every path, query and
 * header parameter and every JSON body field of an operation is filled (with fast-check, from a seed) with
 * values of the victim and of the attacker, chosen by the field's name and kept to its schema's pattern.
 * A route added later is mixed the same way without anyone writing a driver for it.
 */
import fc from 'fast-check';
import type { AttackContext, Variant } from './isolation-drivers.js';

export interface SchemaNode {
  type?: string;
  pattern?: string;
  enum?: unknown[];
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  minimum?: number;
  maximum?: number;
}

export interface OperationDoc {
  method: string;
  path: string;
  parameters: { in: string; name: string; required?: boolean; schema?: SchemaNode }[];
  /** The JSON request body's schema, when the operation takes one. */
  body?: SchemaNode;
}

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const FAR_ID = '999999999999999999';

/** The values a field may take, by what its name says it holds. */
function pools(ctx: AttackContext): Record<string, string[]> {
  const { victim: v, attacker: x, shared: s } = ctx;
  const worlds = [v, x];
  const ids = [
    ...worlds.flatMap((w) => [...w.playerIds, ...w.allocationIds, ...w.keyIds, w.project.projectId, w.project.tenantId]),
    FAR_ID,
  ];
  const names = [...worlds.flatMap((w) => Object.values(w.names)), s.board, s.collection, s.key, s.publicKey, s.fleet, 'default'];
  return {
    id: ids,
    owner: [...ids, 'project'],
    name: names,
    cursor: [
      ...worlds.flatMap((w) => Object.values(w.cursors)),
      cursor({ after: v.names.key }),
      cursor({ a: v.names.board }),
      cursor({ before: v.allocationIds[0] }),
      cursor({ m: `${'0'.repeat(48)}${v.alice.id}` }),
    ],
    // Refresh tokens of both (a key of the attacker's own must not make the victim's work); of access tokens
    // only the attacker's own (for ?token=): holding the victim's would be theft, not a breach of isolation.
    token: [...worlds.flatMap((w) => [w.alice.refreshToken, w.alice.usedRefreshToken!, w.bob.refreshToken]), x.bob.accessToken],
    email: [v.alice.email!, x.alice.email!, `mixed-${x.label}-${v.label}@example.test`],
    device: [v.bob.deviceId!, v.carol.deviceId!, x.bob.deviceId!],
    username: [v.alice.username!, x.alice.username!],
    password: [v.alice.password!, 'password-0123'],
    idempotency: [v.allocationIdempotencyKey, s.scoreIdempotencyKey, x.allocationIdempotencyKey],
    etag: [...v.objectVersions.map((version) => `"${version}"`), '*'],
  };
}

function poolOf(name: string): string {
  if (name === 'owner' || name === 'around') return name === 'owner' ? 'owner' : 'id';
  if (/(^|_)id$/.test(name) && name !== 'device_id') return 'id';
  if (name === 'device_id') return 'device';
  if (/token/.test(name)) return 'token';
  if (/password/.test(name)) return 'password';
  if (name === 'idempotency-key') return 'idempotency';
  if (name === 'if-match' || name === 'if-none-match') return 'etag';
  if (['email', 'username', 'cursor'].includes(name)) return name;
  return 'name';
}

/** One value for a field: an enum member, a number or flag, or a pooled value that fits the pattern. */
function valueOf(name: string, schema: SchemaNode | undefined, ctx: AttackContext, pool: Record<string, string[]>): fc.Arbitrary<unknown> {
  const members = schema?.enum ?? schema?.anyOf?.flatMap((option) => option.enum ?? []);
  if (members && members.length > 0) return fc.constantFrom(...members);
  if (schema?.type === 'integer' || schema?.type === 'number') {
    return fc.integer({ min: Math.max(schema.minimum ?? -5, -5), max: Math.min(schema.maximum ?? 4242, 4242) });
  }
  if (schema?.type === 'boolean') return fc.boolean();
  if (schema?.type === 'object') return fc.constant({ note: 'mixed' });
  // 64-bit scores: a JSON number or a decimal string.
  if (schema?.anyOf?.some((option) => option.type === 'integer')) return fc.constantFrom(1, '4242');
  const candidates = pool[poolOf(name)] ?? [];
  const pattern = schema?.pattern ? new RegExp(schema.pattern) : undefined;
  const fitting = pattern ? candidates.filter((value) => pattern.test(value)) : candidates;
  return fc.constantFrom(...(fitting.length > 0 ? fitting : candidates.length > 0 ? candidates : [ctx.victim.names.key]));
}

/** `runs` requests for one operation and credential, reproducible from `seed`. */
export function mixedVariants(operation: OperationDoc, ctx: AttackContext, seed: number, runs: number): Variant[] {
  const pool = pools(ctx);
  const field = (name: string, schema: SchemaNode | undefined, required: boolean) =>
    required ? valueOf(name, schema, ctx, pool) : fc.option(valueOf(name, schema, ctx, pool), { nil: undefined });
  const params = Object.fromEntries(operation.parameters.map((p) => [`${p.in}:${p.name}`, field(p.name, p.schema, p.in === 'path' || p.required === true)]));
  const bodySchema = operation.body;
  const body = bodySchema?.properties
    ? fc.record(
        Object.fromEntries(
          Object.entries(bodySchema.properties).map(([name, schema]) => [name, field(name, schema, bodySchema.required?.includes(name) ?? false)]),
        ),
      )
    : fc.constant(undefined);
  const samples = fc.sample(fc.tuple(fc.record(params), body), { seed, numRuns: runs });
  return samples.map(([values, payload]) => {
    let url = operation.path;
    const query = new URLSearchParams();
    const headers: Record<string, string> = {};
    for (const [slot, value] of Object.entries(values as Record<string, string | number | boolean | object | undefined>)) {
      if (value === undefined) continue;
      const [where, name] = slot.split(':') as [string, string];
      const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
      if (where === 'path') url = url.replace(`{${name}}`, encodeURIComponent(text));
      else if (where === 'query') query.set(name, text);
      else if (where === 'header') headers[name] = text;
    }
    const search = query.toString();
    const json = payload === undefined ? undefined : Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
    return { url: search ? `${url}?${search}` : url, headers, ...(json === undefined ? {} : { payload: json }) };
  });
}
