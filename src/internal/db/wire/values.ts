/**
 * Values to and from PostgreSQL's text format. The JavaScript shapes are the ones the rest of ggscale was
 * written against (postgres.js's defaults): int8 and numeric stay strings (opaque ids, no precision loss),
 * the small integer and float types are numbers, json/jsonb are parsed, timestamps are Dates, bytea is a
 * Buffer, and every other type is its text.
 */
import type { SqlParam } from '../database.js';

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  jsonb: 3802,
} as const;

export type ValueParser = (text: string) => unknown;

const number: ValueParser = (text) => Number(text);
const json: ValueParser = (text) => JSON.parse(text) as unknown;
const date: ValueParser = (text) => new Date(text);
const SCALAR_PARSERS: Record<number, ValueParser> = {
  [OID.bool]: (text) => text === 't',
  // '\x' then hex digits.
  [OID.bytea]: (text) => Buffer.from(text.slice(2), 'hex'),
  [OID.int2]: number,
  [OID.int4]: number,
  [OID.oid]: number,
  [OID.float4]: number,
  [OID.float8]: number,
  [OID.json]: json,
  [OID.jsonb]: json,
  [OID.date]: date,
  [OID.timestamp]: date,
  [OID.timestamptz]: date,
};

/** Array type → its element type, for the element types above and the common text-like ones. */
const ARRAY_ELEMENTS: Record<number, number> = {
  1000: OID.bool,
  1001: OID.bytea,
  1005: OID.int2,
  1007: OID.int4,
  1016: OID.int8,
  1028: OID.oid,
  1021: OID.float4,
  1022: OID.float8,
  199: OID.json,
  3807: OID.jsonb,
  1182: OID.date,
  1115: OID.timestamp,
  1185: OID.timestamptz,
  1009: 25, // text
  1015: 1043, // varchar
  1014: 1042, // bpchar
  1003: 19, // name
  2951: 2950, // uuid
  1231: 1700, // numeric
};

const text: ValueParser = (value) => value;

export function parserFor(typeOid: number): ValueParser {
  const scalar = SCALAR_PARSERS[typeOid];
  if (scalar) return scalar;
  const element = ARRAY_ELEMENTS[typeOid];
  if (element !== undefined) {
    const parseElement = SCALAR_PARSERS[element] ?? text;
    return (value) => parseArray(value, parseElement);
  }
  return text;
}

/**
 * An array's text form: {a,"b c",NULL,{nested}}; elements may be double-quoted with backslash escapes, and
 * an unquoted NULL is null. (A leading dimension decoration such as [0:1]= is skipped.)
 */
export function parseArray(source: string, parseElement: ValueParser): unknown[] {
  let at = source.startsWith('[') ? source.indexOf('=') + 1 : 0;
  const parseLevel = (): unknown[] => {
    const items: unknown[] = [];
    at++; // '{'
    while (at < source.length) {
      const char = source[at];
      if (char === '}') {
        at++;
        return items;
      }
      if (char === ',') {
        at++;
      } else if (char === '{') {
        items.push(parseLevel());
      } else if (char === '"') {
        let value = '';
        at++;
        while (at < source.length && source[at] !== '"') {
          if (source[at] === '\\') at++;
          value += source[at++];
        }
        at++;
        items.push(parseElement(value));
      } else {
        let end = at;
        while (end < source.length && source[end] !== ',' && source[end] !== '}') end++;
        const value = source.slice(at, end);
        items.push(value === 'NULL' ? null : parseElement(value));
        at = end;
      }
    }
    return items;
  };
  return parseLevel();
}

/**
 * The type a parameter is declared with when its statement is prepared: 0 lets the server infer it from
 * the statement, which is right for text and numbers; the rest are declared so that an uncast `$1` of a
 * Date, a Buffer or a boolean still means that type.
 */
export function declaredType(value: SqlParam): number {
  if (value instanceof Date) return OID.timestamptz;
  if (value instanceof Uint8Array) return OID.bytea;
  if (typeof value === 'boolean') return OID.bool;
  if (typeof value === 'bigint') return OID.int8;
  return 0;
}

export function encodeParam(value: SqlParam): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Date) return Buffer.from(value.toISOString(), 'latin1');
  if (value instanceof Uint8Array) return Buffer.from('\\x' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex'), 'latin1');
  if (typeof value === 'boolean') return Buffer.from(value ? 't' : 'f', 'latin1');
  return Buffer.from(String(value), 'latin1');
}
