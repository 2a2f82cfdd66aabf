/**
 * One fuzzed request for one operation and one credential kind: every part first generated valid from the
 * operation's schemas (with real ids from the seeded world), then, in breaking mode, one or two parts broken
 * (path traversal, duplicated or malformed query parameters, hostile headers, wrong-typed, deep, huge,
 * polluted or non-JSON bodies, odd content types).
 */
import fc from 'fast-check';
import { Entries, HOSTILE_BODIES, HOSTILE_STRINGS, RawJson, brokenObject, toJsonText } from './hostile-json.js';
import { satisfies, validValue, type Hints, type JsonSchema } from './json-schema-arbitrary.js';
import type { Operation, Parameter } from './openapi-operations.js';

export const CREDENTIAL_KINDS = ['none', 'garbage', 'publishable', 'secret', 'player', 'operator'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export type Breaker = 'path' | 'query' | 'headers' | 'body' | 'content-type' | 'unexpected-body';

export interface FuzzRequest {
  operation: string;
  kind: CredentialKind;
  /** [] when every part is schema-valid. */
  broken: Breaker[];
  method: string;
  url: string;
  headers: Record<string, string>;
  payload: string | Buffer | undefined;
  /** For the failure message: the body as generated (huge parts named, not printed). */
  bodyLabel: string;
}

/** Path segments (already percent-encoded) aimed at routers, decoders and file systems. */
export const HOSTILE_SEGMENTS = [
  '..', '.', '%2e%2e', '%2e%2e%2f', '..%2f..%2f..%2fetc%2fpasswd', '%2F', 'a%2Fb', '%00', 'a%00b', '%ff', '%', '%zz', '%c0%ae%c0%ae',
  '%E2%80%AE', '%20', '+', 'x'.repeat(300), '-1', '0', '00001', '1.0', '1e3', '18446744073709551616', '9223372036854775808',
  "1'--", '1%3Bdrop%20table%20tenants', '1%20or%201%3D1', '%25', '%252e%252e%252f', '__proto__', 'constructor', '%5C..%5C', '*', '~',
];

/** Query strings (already encoded) that break parsers: malformed escapes, pollution keys, arrays. */
const HOSTILE_QUERY_PAIRS: Array<[string, string]> = [
  ['__proto__', 'x'], ['__proto__[polluted]', '1'], ['constructor[prototype][polluted]', '1'], ['a[]', '1'], ['limit', '%'],
  ['limit', '%zz'], ['cursor', '%00'], ['limit', ''], ['', 'x'], ['limit', '1e3'], ['limit', '-0'], ['limit', 'NaN'],
  ['limit', '18446744073709551616'], ['limit', '0x10'], ['limit', '%201'], ['limit', '1.5'], ['owner', '..%2F..'], ['prefix', '%25'],
  ['prefix', '%5F'], ['around', '-1'], ['period', 'PREVIOUS'], ['state', "Allocated'--"], ['token', 'x'.repeat(5000)],
];

/** Authorization values that resolve to nothing (or are not bearer credentials at all). */
const GARBAGE_AUTHORIZATION = fc.oneof(
  fc.constantFrom(
    'Bearer', 'Bearer ', 'Bearer  x', 'bearer ggs_sk_x', 'Basic dXNlcjpwYXNz', 'Bearer ggs_sk_' + 'A'.repeat(43), 'Bearer ggs_pk_' + 'A'.repeat(43),
    'Bearer ggs_sk_', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwidGlkIjoiMSIsInBpZCI6IjEifQ.', 'Bearer eyJ.eyJ.sig', 'Bearer ' + 'x'.repeat(4097),
    'Bearer ' + 'x'.repeat(5000), 'Bearer test-operator-token-0123456789abcdeX', 'Bearer test-operator-token-0123456789abcde', 'Bearer \u00e9t\u00e9',
    "Bearer ' OR 1=1 --", 'Bearer %00', 'Bearer a b', 'Negotiate x', '',
  ),
  fc.string({ minLength: 1, maxLength: 80, unit: 'binary-ascii' }).map((s) => `Bearer ${s.replace(/[\r\n\0]/g, 'x')}`),
  fc.stringMatching(/^ggs_(sk|pk)_[A-Za-z0-9_-]{20,60}$/).map((s) => `Bearer ${s}`),
);

export interface Credentials {
  publishable: string;
  secret: string;
  player: string;
  operator: string;
}

/** Header names of an operation that the fuzzer sets itself (never generated from the schema). */
const OWN_HEADERS = new Set(['authorization', 'content-type', 'content-length', 'host']);

/**
 * Percent-encodes like encodeURIComponent, but a lone surrogate (which encodeURIComponent refuses) becomes
 * its WTF-8 bytes (%ED%A0%80): invalid UTF-8 on purpose.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(char);
    }
  }
  return out;
}

const encode = (value: unknown) => percentEncode(typeof value === 'string' ? value : JSON.stringify(value));

function parameterValue(parameter: Parameter, hints: Hints, scope: string): fc.Arbitrary<unknown> {
  return validValue(parameter.schema, hints, [scope, parameter.name]);
}

interface Parts {
  path: Record<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** The JSON (or raw) body, and its content type; undefined: no body. */
  body: { value: unknown; contentType: string | undefined } | undefined;
}

/** Content types other than plain JSON, for JSON routes (and ones a raw-bytes route must refuse or keep). */
const ODD_CONTENT_TYPES = [
  undefined, 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16',
  'garbage', '', 'application/x-www-form-urlencoded', 'application/json, text/html', 'APPLICATION/JSON', 'application/json;;;',
  'application/jsonp', 'application/vnd.api+json', 'application/problem+json', '*/*', 'application/json; charset="utf-8"',
  'text/plain; charset=utf-8', 'application/octet-stream', 'application/' + 'x'.repeat(300), 'a/b; c="\\"', 'image/svg+xml',
];

const STORAGE_CONTENT_TYPES = ['application/octet-stream', 'application/json', 'text/plain; charset=utf-8', 'image/png', 'application/vnd.game+json; v=2'];

function validParts(operation: Operation, hints: Hints): fc.Arbitrary<Parts> {
  const scope = (p: Parameter) => `${operation.path}#${p.in}`;
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const headerParams = operation.parameters.filter((p) => p.in === 'header' && !OWN_HEADERS.has(p.name));
  const path = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, parameterValue(p, hints, scope(p)).map(encode)])));
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        p.required
          ? parameterValue(p, hints, scope(p)).map((v) => [p.name, encode(v)] as [string, string] | null)
          : fc.option(parameterValue(p, hints, scope(p)).map((v) => [p.name, encode(v)] as [string, string]), { freq: 2 }),
      ),
    )
    .map((pairs) => pairs.filter((pair): pair is [string, string] => pair !== null));
  const headers = fc
    .tuple(...headerParams.map((p) => fc.option(parameterValue(p, hints, scope(p)).map((v) => [p.name, String(v)] as const), { freq: 2 })))
    .map((pairs) => Object.fromEntries(pairs.filter((pair) => pair !== null)));
  let body: fc.Arbitrary<Parts['body']> = fc.constant(undefined);
  if (operation.body) {
    body = validValue(operation.body, hints, [`${operation.path}#body`]).map((value) => ({ value, contentType: 'application/json' }));
  } else if (operation.method === 'PUT') {
    // Raw-bytes bodies (storage objects): any bytes, any well-formed media type.
    body = fc
      .tuple(fc.oneof(fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)), fc.json()), fc.constantFrom(...STORAGE_CONTENT_TYPES))
      .map(([value, contentType]) => ({ value: typeof value === 'string' ? new RawJson(value) : value, contentType }));
  }
  return fc.record({ path, query, headers, body });
}

function breakPart(operation: Operation, parts: Parts, breaker: Breaker): fc.Arbitrary<Parts> {
  switch (breaker) {
    case 'path': {
      const names = Object.keys(parts.path);
      return fc
        .tuple(fc.constantFrom(...names), fc.constantFrom(...HOSTILE_SEGMENTS), fc.constantFrom(...HOSTILE_STRINGS).map(percentEncode), fc.boolean())
        .map(([name, segment, encoded, raw]) => ({ ...parts, path: { ...parts.path, [name]: raw ? segment : encoded } }));
    }
    case 'query': {
      const declared = operation.parameters.filter((p) => p.in === 'query').map((p) => p.name);
      const duplicate = parts.query.length > 0 ? fc.constantFrom(...parts.query) : fc.constantFrom<[string, string]>(['limit', '1'], ['cursor', 'x']);
      return fc.oneof(
        // The same parameter twice (a parser turns it into an array).
        duplicate.map((pair) => ({ ...parts, query: [...parts.query, pair] })),
        fc.tuple(duplicate, fc.constantFrom(...HOSTILE_STRINGS)).map(([[name], bad]) => ({ ...parts, query: [...parts.query, [name, percentEncode(bad)] as [string, string]] })),
        fc.constantFrom(...HOSTILE_QUERY_PAIRS).map((pair) => ({ ...parts, query: [...parts.query, pair] })),
        fc
          .tuple(fc.constantFrom(...(declared.length > 0 ? declared : ['limit'])), fc.constantFrom(...HOSTILE_STRINGS))
          .map(([name, bad]) => ({ ...parts, query: [...parts.query.filter(([n]) => n !== name), [name, percentEncode(bad)] as [string, string]] })),
      );
    }
    case 'headers':
      return fc
        .tuple(
          fc.constantFrom('idempotency-key', 'if-match', 'if-none-match', 'x-request-id', 'x-forwarded-for', 'origin', 'accept', 'accept-encoding', 'range', 'expect', 'cookie'),
          fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.constantFrom('*', '"x"', 'W/"x"', '"a", "b"', 'x'.repeat(8000), '1.2.3.4, 999.1.1.1', 'gzip;q=NaN', 'bytes=0-0,-1')),
        )
        // Header values are ISO-8859-1 on the wire: characters beyond it cannot be sent (the socket pass tries raw bytes).
        .map(([name, value]) => ({ ...parts, headers: { ...parts.headers, [name]: value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?') } }));
    case 'body':
      if (operation.body?.type === 'object' && parts.body && parts.body.value !== null && typeof parts.body.value === 'object') {
        const valid = parts.body.value as Record<string, unknown>;
        return fc
          .oneof({ arbitrary: brokenObject(operation.body, valid), weight: 3 }, { arbitrary: fc.constantFrom<unknown>(...HOSTILE_BODIES), weight: 2 })
          .map((value) => ({ ...parts, body: { value, contentType: 'application/json' } }));
      }
      return fc.constantFrom<unknown>(...HOSTILE_BODIES).map((value) => ({ ...parts, body: { value, contentType: parts.body?.contentType ?? 'application/json' } }));
    case 'content-type':
      return fc.constantFrom(...ODD_CONTENT_TYPES).map((contentType) => ({ ...parts, body: { value: parts.body?.value ?? new RawJson('{}'), contentType } }));
    case 'unexpected-body':
      return fc.constantFrom<unknown>(new RawJson('{"a":1}'), ...HOSTILE_BODIES.slice(0, 12)).map((value) => ({ ...parts, body: { value, contentType: 'application/json' } }));
  }
}

export function breakersFor(operation: Operation): Breaker[] {
  const breakers: Breaker[] = ['query', 'headers'];
  if (operation.parameters.some((p) => p.in === 'path')) breakers.push('path');
  if (operation.takesBody) breakers.push('body', 'content-type');
  else breakers.push('unexpected-body');
  return breakers;
}

function payloadOf(value: unknown): { payload: string | Buffer; label: string } {
  if (Buffer.isBuffer(value)) return { payload: value, label: `bytes(${value.toString('hex').slice(0, 240)}${value.length > 120 ? `…(${value.length} bytes)` : ''})` };
  if (value instanceof RawJson) return { payload: value.text, label: value.label };
  const text = toJsonText(value);
  return { payload: text, label: text.length > 400 ? describeValue(value).slice(0, 600) : text };
}

function describeValue(value: unknown): string {
  if (value instanceof RawJson) return value.label;
  if (value instanceof Entries) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${describeValue(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(describeValue).join(',')}]`;
  if (value !== null && typeof value === 'object') return describeValue(new Entries(Object.entries(value)));
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 100)}…(${text.length} chars)` : text;
}

/** Rewrites a path parameter (percent-encoded) before it is sent: keeps a credential off rows it must not touch. */
export type PathGuard = (name: string, encoded: string) => string;

function toRequest(operation: Operation, kind: CredentialKind, authorization: string | undefined, parts: Parts, broken: Breaker[], guard: PathGuard): FuzzRequest {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => guard(name, parts.path[name] ?? ''));
  const query = parts.query.map(([k, v]) => (k === '' ? `=${v}` : `${k}=${v}`)).join('&');
  const headers: Record<string, string> = { ...parts.headers };
  if (authorization !== undefined) headers.authorization = authorization;
  let payload: string | Buffer | undefined;
  let bodyLabel = '';
  if (parts.body) {
    const written = payloadOf(parts.body.value);
    payload = written.payload;
    bodyLabel = written.label;
    if (parts.body.contentType !== undefined) headers['content-type'] = parts.body.contentType;
  }
  return {
    operation: operation.id,
    kind,
    broken,
    method: operation.method,
    url: query ? `${path}?${query}` : path,
    headers,
    payload,
    bodyLabel,
  };
}

export function describeRequest(request: FuzzRequest): string {
  const headers = Object.entries(request.headers)
    .map(([k, v]) => `${k}: ${v.length > 120 ? `${v.slice(0, 60)}…(${v.length} chars)` : v}`)
    .join(' | ');
  return `${request.method} ${request.url.length > 400 ? `${request.url.slice(0, 300)}…` : request.url} [${request.kind}; broken: ${request.broken.join(',') || 'none'}] {${headers}} body: ${request.bodyLabel || '(none)'}`;
}

/** Requests for one operation with one credential kind: schema-valid about 2 in 5, broken otherwise. */
export function requestArbitrary(
  operation: Operation,
  kind: CredentialKind,
  hints: Hints,
  credentials: Credentials,
  guard: PathGuard = (_name, encoded) => encoded,
): fc.Arbitrary<FuzzRequest> {
  const authorization: fc.Arbitrary<string | undefined> =
    kind === 'none' ? fc.constant(undefined) : kind === 'garbage' ? GARBAGE_AUTHORIZATION : fc.constant(`Bearer ${credentials[kind]}`);
  const breakers = breakersFor(operation);
  const broken = fc.oneof(
    { arbitrary: fc.constant<Breaker[]>([]), weight: 2 },
    { arbitrary: fc.constantFrom(...breakers).map((b) => [b]), weight: 2 },
    { arbitrary: fc.shuffledSubarray(breakers, { minLength: 2, maxLength: 2 }), weight: 1 },
  );
  return fc.tuple(validParts(operation, hints), broken, authorization).chain(([parts, which, auth]) => {
    let result: fc.Arbitrary<Parts> = fc.constant(parts);
    for (const breaker of which) result = result.chain((current) => breakPart(operation, current, breaker));
    return result.map((final) => {
      const request = toRequest(operation, kind, auth, final, which, guard);
      return Object.assign(request, { [fc.toStringMethod]: () => describeRequest(request) });
    });
  });
}

/** Whether the valid parts of a request satisfy the operation's schemas (the generator's honesty check). */
export function bodySatisfiesSchema(operation: Operation, payload: string | Buffer | undefined): boolean {
  if (!operation.body) return true;
  if (payload === undefined) return false;
  try {
    return satisfies(operation.body, JSON.parse(payload.toString()) as unknown);
  } catch {
    return false;
  }
}

export type { JsonSchema };
