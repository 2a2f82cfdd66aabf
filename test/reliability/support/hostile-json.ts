/**
 * JSON bodies that JSON.stringify cannot write: numbers beyond doubles (1e400, 2^64, -0), duplicate keys,
 * `__proto__` as an own key, nesting from just past the 32-level limit to 100k deep (arrays, objects and both
 * interleaved), and arrays of small values up to the body limit. A body is a tree of plain values plus
 * RawJson (verbatim text) and Entries (an object as a list of key/value pairs, duplicates and all), written
 * by toJsonText.
 */
import fc from 'fast-check';
import { HOSTILE_CHARACTERS, type JsonSchema } from './json-schema-arbitrary.js';

export class RawJson {
  constructor(
    readonly text: string,
    /** A short name for failure messages when the text is huge. */
    readonly label = text.length > 200 ? `${text.slice(0, 60)}…(${text.length} chars)` : text,
  ) {}
}

export class Entries {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof Entries) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const deepArray = (depth: number) => new RawJson('['.repeat(depth) + ']'.repeat(depth), `deepArray(${depth})`);
export const deepObject = (depth: number) => new RawJson('{"a":'.repeat(depth) + '1' + '}'.repeat(depth), `deepObject(${depth})`);
/** Arrays and objects in turn, `depth` levels in all: `[{"a":[{"a":…1…}]}]`. */
export const deepMixed = (depth: number) => {
  const opens = Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? '[' : '{"a":')).join('');
  const closes = Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? ']' : '}')).reverse().join('');
  return new RawJson(opens + '1' + closes, `deepMixed(${depth})`);
};

/**
 * Depths just past the server's 32-level limit, where a recursive walk still copes, and far past it, where
 * one overflows the stack (JSON.stringify did at a few thousand: a 500 on leaderboard metadata).
 */
export const DEEP_DEPTHS = [33, 100, 500, 1_000, 5_000, 20_000, 100_000];

/** A deeply nested value of any shape. */
export const deepValue: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(...DEEP_DEPTHS), fc.constantFrom(deepArray, deepObject, deepMixed))
  .map(([depth, shape]) => shape(depth));

/** BODY_LIMIT_BYTES as the fuzzers run it (the default; bad-input-fuzz.test.ts checks they agree). */
export const BODY_LIMIT_BYTES = 1_048_576;

/** `[item,item,…]`, as many items as fit in `bytes`. */
export function hugeArray(bytes: number, item: string): RawJson {
  const count = Math.max(1, Math.floor((bytes - 1) / (item.length + 1)));
  return new RawJson(`[${`${item},`.repeat(count - 1)}${item}]`, `array(${count} × ${item}, ${bytes} bytes)`);
}

/** Arrays of small values, from big to nearly the whole body limit (room left for the rest of the body). */
export const hugeArrayValue: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(2_000, 20_000, 200_000, BODY_LIMIT_BYTES - 4_096), fc.constantFrom('0', '-1', 'null', 'true', '""', '{}', '[]', '1e400'))
  .map(([bytes, item]) => hugeArray(bytes, item));

/** Numbers (as JSON text) that a double, a bigint column or a naive parseInt gets wrong. */
export const HOSTILE_NUMBERS = [
  '18446744073709551616', '-18446744073709551616', '9223372036854775807', '9223372036854775808', '-9223372036854775809',
  '9007199254740993', '-0', '0.0', '1e400', '-1e400', '1e-400', '0.5', '1E3', '-1', '0', '2147483648', '4294967296',
  '"NaN"', '"Infinity"', '"-Infinity"', '"-0"', '"0x10"', '"1e3"', '" 1"', '"1 "', '"+1"', '"١"', '"99999999999999999999"',
].map((text) => new RawJson(text));

/** Strings aimed at SQL, paths, logs and templates. */
export const HOSTILE_STRINGS: string[] = [
  "'; drop table tenants; --", "' OR '1'='1", '" OR ""="', '1; select pg_sleep(30)', "1' and pg_sleep(30) is null --", '%', '_', '%_%', '\\',
  '../../../../etc/passwd', '..\\..\\windows\\win.ini', '%2e%2e%2f', '/dev/zero', '\u0000', 'a\u0000b', '\ud800', '\udc00x\ud800',
  '\u202egnp.exe', '\ufeff', '${jndi:ldap://x}', '{{7*7}}', '<script>alert(1)</script>', 'null', 'undefined', 'true', '[]', '{}',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '\t\n\r', '😀'.repeat(100), 'é\u0301',
  ...HOSTILE_CHARACTERS,
];

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Values of every JSON type but the one a schema asks for (and some that are no JSON type at all). */
export function wrongTypeValues(schema: JsonSchema | undefined): unknown[] {
  const type = schema?.type ?? (schema?.anyOf ? 'union' : undefined);
  const all: Record<string, unknown[]> = {
    string: ['', 'x', '12', 'true', 'null'],
    number: [0, -1, 1.5, new RawJson('1e400'), new RawJson('-0')],
    boolean: [true, false],
    null: [null],
    array: [[], [1, 'a'], [[[]]]],
    object: [{}, { a: 1 }, new Entries([['__proto__', { polluted: true }]])],
  };
  const skip = type === 'integer' ? 'number' : typeof type === 'string' ? type : '';
  return Object.entries(all).flatMap(([kind, values]) => (kind === skip ? [] : values));
}

/** A hostile replacement for one value: wrong types, hostile numbers and strings, deep and huge values. */
export function hostileValue(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...wrongTypeValues(schema)), weight: 4 },
    { arbitrary: fc.constantFrom(...HOSTILE_NUMBERS), weight: 3 },
    { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 4 },
    { arbitrary: deepValue, weight: 2 },
    { arbitrary: hugeArrayValue, weight: 1 },
    { arbitrary: fc.constant(new RawJson(JSON.stringify('x'.repeat(300_000)), 'string(300k)')), weight: 1 },
    { arbitrary: fc.constant(new Entries(PROTO_KEYS.map((key) => [key, { polluted: true }]))), weight: 1 },
  );
}

/** Whole bodies that are not the JSON object a route wants, or not JSON at all. */
export const HOSTILE_BODIES: Array<string | Buffer | RawJson> = [
  '', ' ', 'null', '[]', '0', '-0', '"x"', 'true', '{', '}', '{}{}', '{"a":1}{"b":2}', '{"a":1,}', "{'a':1}", '{a:1}', 'NaN',
  '{"a":NaN}', '{"a":Infinity}', '/* c */{}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}', '{"a":1,"a":2}', 'x'.repeat(2048),
  Buffer.from([0xff, 0xfe, 0xfd]),
  Buffer.from('{"name":"\xc0\xaf\xed\xa0\x80\xf8\x88\x80\x80\x80"}', 'latin1'),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x28, 0xa1, 0x22, 0x7d]),
  Buffer.alloc(64, 0),
  ...[33, 1_000, 5_000, 100_000].flatMap((depth) => [deepArray(depth), deepObject(depth), deepMixed(depth)]),
  // The body itself a huge array: at the body limit exactly, then one byte over it.
  hugeArray(BODY_LIMIT_BYTES, '0'),
  new RawJson(`${hugeArray(BODY_LIMIT_BYTES - 1, '0').text} `, 'array at the body limit plus one byte'),
  new RawJson(`{"items":${hugeArray(BODY_LIMIT_BYTES - 64, 'null').text}}`, 'object holding an array of nulls near the body limit'),
  new RawJson(`[${'0,'.repeat(600_000)}0]`, 'array(600k) over the body limit'),
  new RawJson(JSON.stringify({ pad: 'x'.repeat(1_000_000) }), 'object with a 1 MB string, just under/over the limit'),
];

/** A body schema-broken at one place: a field of the wrong type or hostile value, missing, extra, duplicated. */
export function brokenObject(schema: JsonSchema, valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const properties = Object.keys(schema.properties ?? {});
  const present = Object.keys(valid);
  const required = schema.required ?? [];
  const choices: Array<fc.Arbitrary<unknown>> = [];
  const fieldNames = properties.length > 0 ? properties : ['x'];
  choices.push(
    fc.constantFrom(...fieldNames).chain((name) =>
      hostileValue(schema.properties?.[name]).map((bad) => new Entries([...Object.entries(valid).filter(([k]) => k !== name), [name, bad]])),
    ),
  );
  if (required.length > 0) {
    choices.push(fc.constantFrom(...required).map((name) => new Entries(Object.entries(valid).filter(([k]) => k !== name))));
  }
  choices.push(
    fc.tuple(fc.constantFrom('unknown_field', ...PROTO_KEYS, '', 'x'.repeat(300), 'ID', ' id'), fc.jsonValue({ maxDepth: 2 })).map(
      ([key, value]) => new Entries([...Object.entries(valid), [key, value]]),
    ),
  );
  if (present.length > 0) {
    choices.push(
      fc.tuple(fc.constantFrom(...present), hostileValue(undefined)).map(([key, bad]) => new Entries([...Object.entries(valid), [key, bad]])),
    );
  }
  // Free-form maps (metadata, labels, annotations): pollution keys one level down; deep nesting and huge
  // arrays inside them, or the map itself nested deep, which a schema that only says "object" lets through.
  const maps = properties.filter((name) => {
    const child = schema.properties?.[name];
    return child?.type === 'object' && child.additionalProperties !== false;
  });
  if (maps.length > 0) {
    const others = (name: string) => Object.entries(valid).filter(([k]) => k !== name);
    choices.push(
      fc.tuple(fc.constantFrom(...maps), fc.constantFrom(...PROTO_KEYS), fc.constantFrom<unknown>('x', { polluted: true }, null)).map(
        ([name, key, value]) => new Entries([...others(name), [name, new Entries([[key, value]])]]),
      ),
      fc.tuple(fc.constantFrom(...maps), fc.oneof(deepValue, hugeArrayValue)).map(([name, value]) => new Entries([...others(name), [name, new Entries([['k', value]])]])),
      fc.tuple(fc.constantFrom(...maps), fc.constantFrom(...DEEP_DEPTHS)).map(([name, depth]) => new Entries([...others(name), [name, deepObject(depth)]])),
    );
  }
  return fc.oneof(...choices);
}
