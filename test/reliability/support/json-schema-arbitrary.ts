/**
 * JSON Schema (the subset our route schemas use, as served in the OpenAPI document) → fast-check arbitrary of
 * values that satisfy it. Real ids come from hints, so a valid-looking request reaches real rows; strings
 * are sometimes "sprinkled" with hostile characters (NUL, lone surrogates, SQL metacharacters, ...) and
 * kept only where the schema still accepts them: those are the inputs a schema lets through to a handler.
 *
 * An unknown keyword is an error, not a silent pass: a schema we cannot generate for would be a blind spot.
 */
import fc from 'fast-check';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  example?: unknown;
}

/** Keywords that only document (or that Ajv applies without us having to generate for them). */
const KNOWN = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties', 'propertyNames', 'items',
  'minItems', 'maxItems', 'uniqueItems', 'anyOf', 'oneOf', 'enum', 'const', 'minLength', 'maxLength', 'pattern',
  'format', 'minimum', 'maximum', 'default', 'description', 'example', 'title',
]);

/**
 * Values worth trying for a property path (real ids, names, tokens), mixed with what the schema allows;
 * `{ only }` replaces the schema (a fleet's command: random argv must never run on the test machine);
 * undefined: the schema alone decides.
 */
export type Hints = (path: readonly string[]) => readonly unknown[] | { only: readonly unknown[] } | undefined;

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: false, keywords: ['example'] }));
const compiled = new Map<string, ValidateFunction>();

/** Whether a value satisfies a schema, by the same validator library the server uses. */
export function satisfies(schema: JsonSchema, value: unknown): boolean {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  return validate(value);
}

/** Characters that break naive code: NUL, lone surrogates, SQL and LIKE metacharacters, bidi, line breaks. */
export const HOSTILE_CHARACTERS = [
  '\u0000', '\ud800', '\udfff', "'", '"', '\\', '%', '_', ';', '--', '/*', '\n', '\r\n', '\u202e', '\ufeff', '\u2028',
  '\u0085', '😀', 'é', '../', '%00', '${x}', '{{x}}', '<script>', "' OR '1'='1", '\u0001', '\x7f',
];

function checkKeywords(schema: JsonSchema): void {
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN.has(keyword)) throw new Error(`json-schema-arbitrary: unsupported keyword "${keyword}" in ${JSON.stringify(schema).slice(0, 200)}`);
  }
}

/** Inserts one hostile character into a valid string; keeps the result only if the schema still accepts it. */
function sprinkled(schema: JsonSchema, base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  // What Postgres text and jsonb cannot hold (NUL, lone surrogates) is the likeliest 500: drawn more often.
  const hostileCharacter = fc.oneof({ arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff'), weight: 2 }, { arbitrary: fc.constantFrom(...HOSTILE_CHARACTERS), weight: 3 });
  return fc.tuple(base, hostileCharacter, fc.nat()).map(([text, hostile, at]) => {
    const position = text.length === 0 ? 0 : at % (text.length + 1);
    const candidate = text.slice(0, position) + hostile + text.slice(position);
    return satisfies(schema, candidate) ? candidate : text;
  });
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? 256;
  let base: fc.Arbitrary<string>;
  if (schema.format === 'uuid') base = fc.uuid();
  else if (schema.format === 'date-time') base = fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  else if (schema.format === 'uri') base = fc.webUrl();
  else if (schema.format !== undefined) throw new Error(`json-schema-arbitrary: unsupported format "${schema.format}"`);
  else if (schema.pattern !== undefined) {
    const pattern = new RegExp(schema.pattern);
    // Patterns are generated short; lengths outside the bounds are cut back to a boundary-length match.
    base = fc.stringMatching(pattern, { size: minLength > 8 ? 'medium' : 'small' }).filter((s) => s.length >= minLength && s.length <= maxLength);
  } else {
    const bounded = { minLength, maxLength: Math.min(maxLength, Math.max(minLength, 40)) };
    base = fc.oneof(
      fc.string(bounded),
      fc.string({ ...bounded, unit: 'binary' }),
      fc.string({ ...bounded, unit: 'grapheme' }),
      // Boundary lengths: the longest accepted string.
      fc.constant('x'.repeat(maxLength)),
    );
  }
  return fc.oneof({ arbitrary: base, weight: 1 }, { arbitrary: sprinkled(schema, base), weight: 1 });
}

function integerArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? Number.MIN_SAFE_INTEGER;
  const max = schema.maximum ?? Number.MAX_SAFE_INTEGER;
  return fc.oneof(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }), fc.constantFrom(min, max), fc.maxSafeInteger().filter((n) => n >= min && n <= max));
}

function objectArbitrary(schema: JsonSchema, hints: Hints, path: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, child] of Object.entries(properties)) model[name] = validValue(child, hints, [...path, name]);
  const declared = fc.record(model, { requiredKeys: [...required] });
  const extra = schema.additionalProperties;
  const maxProperties = schema.maxProperties ?? 4;
  let value: fc.Arbitrary<Record<string, unknown>> = declared;
  if (typeof extra === 'object') {
    const keys = schema.propertyNames ? stringArbitrary(schema.propertyNames) : fc.string({ maxLength: 20 });
    const entries = fc.dictionary(keys, validValue(extra, hints, [...path, '*']), { maxKeys: Math.min(maxProperties, 4), noNullPrototype: true });
    value = fc.tuple(declared, entries).map(([known, more]) => ({ ...more, ...known }));
  }
  const minProperties = schema.minProperties ?? 0;
  if (minProperties > 0) {
    // Too few optional properties drawn: add the first declared ones until the minimum is met.
    const fillers = Object.entries(properties).map(([name, child]) => [name, validValue(child, hints, [...path, name])] as const);
    value = value.chain((object) => {
      const missing = fillers.filter(([name]) => !(name in object)).slice(0, Math.max(0, minProperties - Object.keys(object).length));
      if (missing.length === 0) return fc.constant(object);
      return fc.tuple(...missing.map(([, arb]) => arb)).map((values) => ({ ...object, ...Object.fromEntries(missing.map(([name], i) => [name, values[i]])) }));
    });
  }
  return value;
}

/** Any JSON value, small (for schemas that accept anything: free-form metadata). */
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** An arbitrary of values that satisfy `schema` (hinted values preferred where the path has hints). */
export function validValue(schema: JsonSchema, hints: Hints, path: readonly string[] = []): fc.Arbitrary<unknown> {
  checkKeywords(schema);
  const hint = hints(path);
  if (hint && 'only' in hint) return fc.constantFrom(...hint.only);
  const fromSchema = fromSchemaOnly(schema, hints, path);
  const hinted = hint?.filter((value) => satisfies(schema, value));
  if (!hinted || hinted.length === 0) return fromSchema;
  const real = fc.constantFrom(...hinted);
  // Real values, also with a hostile character slipped in where the schema still accepts it.
  const realSprinkled = schema.type === 'string' ? sprinkled(schema, real as fc.Arbitrary<string>) : real;
  return fc.oneof({ arbitrary: real, weight: 4 }, { arbitrary: fromSchema, weight: 2 }, { arbitrary: realSprinkled, weight: 1 });
}

function fromSchemaOnly(schema: JsonSchema, hints: Hints, path: readonly string[]): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => validValue(alternative, hints, path)));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => validValue({ ...schema, type }, hints, path)));
  switch (schema.type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return integerArbitrary(schema);
    case 'number':
      return fc.oneof(integerArbitrary(schema), fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum, max: schema.maximum }));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'object':
      return objectArbitrary(schema, hints, path);
    case 'array': {
      const items = schema.items ? validValue(schema.items, hints, [...path, '[]']) : anyJson;
      const bounds = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, Math.max(schema.minItems ?? 0, 5)) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...bounds, selector: (v) => JSON.stringify(v) }) : fc.array(items, bounds);
    }
    case undefined:
      return anyJson;
    default:
      throw new Error(`json-schema-arbitrary: unsupported type "${schema.type}"`);
  }
}
