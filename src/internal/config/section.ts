/**
 * Configuration as data. Each setting is a Variable: its name, the line the README shows for it, its default
 * as the README shows it, and its parser. Each part of the server groups its variables into a ConfigSection;
 * the root composes the sections into one Config and renders the README's table from the same definitions,
 * so a variable cannot be parsed without being documented.
 */
import * as raw from './parse.js';
import type { Env } from './parse.js';

export interface Variable<T> {
  /** The environment variable, e.g. 'LEADERBOARD_REBUILD_BATCH'. */
  readonly name: string;
  /** One line of Markdown for the README. */
  readonly doc: string;
  /** The default as the README shows it: '`10000`', 'unset', '`hostname:PORT`'. */
  readonly defaultDoc: string;
  /** Other variables its default depends on (FLEET_LOCAL_NODE_ID reads PORT). */
  readonly reads?: readonly string[];
  /** A limit a project may override in its settings, under `key` (the variable's name in lower case). */
  readonly perProject?: ProjectLimit;
  /** Inside a section it gets an env that refuses every name other than `name` and `reads`. */
  parse(env: Env): T;
}

export interface ConfigSection<Key extends string, T> {
  /** Where the section's values land in the Config: config[key]. */
  readonly key: Key;
  /** The README sub-heading of its table. */
  readonly title: string;
  readonly variables: readonly Variable<unknown>[];
  parse(env: Env): T;
}

/** A per-project override of a limit: its settings key and the bounds of its value. */
export interface ProjectLimit {
  readonly key: string;
  readonly min: number;
  readonly max: number;
}

type Variables = Record<string, Variable<unknown>>;
/** The value of each field of a section, as its variable parses it. */
export type ValuesOf<V extends Variables> = { [K in keyof V]: V[K] extends Variable<infer T> ? T : never };

const code = (value: unknown) => `\`${String(value)}\``;

/**
 * The env a variable's parser sees: its own name and those it declares in `reads`. Reading anything else is a
 * programming error (the README would not say what the default depends on), caught by the first load.
 */
function onlyDeclared(env: Env, variable: Variable<unknown>): Env {
  const allowed = new Set([variable.name, ...(variable.reads ?? [])]);
  return new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string' && !allowed.has(name)) {
        throw new Error(`configuration: the parser of ${variable.name} reads ${name}, which it does not declare in reads`);
      }
      return Reflect.get(target, name) as unknown;
    },
  });
}

/**
 * A section whose fields are its variables' values, or what `build` derives from them (nesting, units,
 * defaults that depend on another field).
 */
export function defineSection<Key extends string, V extends Variables>(key: Key, title: string, variables: V): ConfigSection<Key, ValuesOf<V>>;
export function defineSection<Key extends string, V extends Variables, T>(
  key: Key,
  title: string,
  variables: V,
  build: (values: ValuesOf<V>) => T,
): ConfigSection<Key, T>;
export function defineSection<Key extends string, V extends Variables, T>(
  key: Key,
  title: string,
  variables: V,
  build?: (values: ValuesOf<V>) => T,
): ConfigSection<Key, T | ValuesOf<V>> {
  const fields = Object.entries(variables);
  return {
    key,
    title,
    variables: fields.map(([, variable]) => variable),
    parse(env) {
      const values: Record<string, unknown> = {};
      for (const [field, variable] of fields) values[field] = variable.parse(onlyDeclared(env, variable));
      return build ? build(values as ValuesOf<V>) : (values as ValuesOf<V>);
    },
  };
}

interface Documented {
  doc: string;
  /** Overrides the default shown in the README (derived from `default` when that is a literal). */
  defaultDoc?: string;
}

/** `perProject`: a project may override it in its settings' `limits`, under the name in lower case. */
export function integer(name: string, options: Documented & { default: number; min: number; max: number; perProject?: boolean }): Variable<number> {
  return {
    name,
    doc: options.doc,
    ...(options.perProject ? { perProject: { key: name.toLowerCase(), min: options.min, max: options.max } } : {}),
    defaultDoc: options.defaultDoc ?? code(options.default),
    parse: (env) => raw.integer(env, name, options.default, options.min, options.max),
  };
}

export function boolean(name: string, options: Documented & { default: boolean }): Variable<boolean> {
  return { name, doc: options.doc, defaultDoc: options.defaultDoc ?? code(options.default), parse: (env) => raw.boolean(env, name, options.default) };
}

export function oneOf<const T extends string>(name: string, values: readonly T[], options: Documented & { default: T }): Variable<T> {
  return {
    name,
    doc: options.doc,
    defaultDoc: options.defaultDoc ?? code(options.default),
    parse: (env) => raw.oneOf(env, name, values, options.default),
  };
}

export function url(name: string, protocols: string[], options: Documented & { default: string }): Variable<string>;
export function url(name: string, protocols: string[], options: Documented): Variable<string | undefined>;
export function url(name: string, protocols: string[], options: Documented & { default?: string }): Variable<string | undefined> {
  return {
    name,
    doc: options.doc,
    defaultDoc: options.defaultDoc ?? (options.default === undefined ? 'unset' : code(options.default)),
    parse: (env) => raw.url(env, name, protocols) ?? options.default,
  };
}

/** Comma-separated; `check` returns the problem with one item, if any. */
export function list(name: string, options: Documented & { check?: (item: string) => string | undefined }): Variable<string[]> {
  return {
    name,
    doc: options.doc,
    defaultDoc: options.defaultDoc ?? 'none',
    parse(env) {
      const items = raw.list(env, name);
      for (const item of items) {
        const problem = options.check?.(item);
        if (problem !== undefined) throw new raw.ConfigError(name, problem);
      }
      return items;
    },
  };
}

type TextOptions = Documented & { minLength?: number };

/** Trimmed text, unset when empty; `minLength` refuses shorter values (secrets). */
export function text(name: string, options: TextOptions & { default: string }): Variable<string>;
export function text(name: string, options: TextOptions): Variable<string | undefined>;
export function text(name: string, options: TextOptions & { default?: string }): Variable<string | undefined> {
  return {
    name,
    doc: options.doc,
    defaultDoc: options.defaultDoc ?? (options.default === undefined ? 'unset' : code(options.default)),
    parse(env) {
      const value = raw.text(env, name);
      if (value !== undefined && options.minLength !== undefined && value.length < options.minLength) {
        throw new raw.ConfigError(name, `must be at least ${options.minLength} characters long`);
      }
      return value ?? options.default;
    },
  };
}

/** A variable with its own parser (ranges, derived defaults); `reads` names the other variables it reads. */
export function custom<T>(name: string, options: Required<Documented> & { parse: (env: Env) => T; reads?: readonly string[] }): Variable<T> {
  return { name, doc: options.doc, defaultDoc: options.defaultDoc, parse: options.parse, ...(options.reads ? { reads: options.reads } : {}) };
}
