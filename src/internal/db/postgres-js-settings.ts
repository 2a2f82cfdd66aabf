/**
 * How the postgres.js driver connects and what its values look like, so that it is interchangeable with our
 * own client (wire/): the same URL parameters, the same JavaScript shapes for the same column types, and the
 * same text sent for each parameter.
 */
import type { Options, PostgresType } from 'postgres';
import { parseConnectionUrl, tlsOptions, type ConnectionTarget } from './wire/connection-options.js';
import { parserFor } from './wire/values.js';

/**
 * The column types whose values get a parser of their own (int8 and numeric stay text, json is parsed, bytea
 * is a Buffer, arrays are arrays: wire/values.ts), and the parameter types that postgres.js would otherwise
 * serialize by the type the server inferred (a string bound to a jsonb parameter would be JSON-encoded a
 * second time, a string bound to a boolean one would become 'f'). 0 is a parameter whose type the server
 * decides.
 */
const SCALAR_OIDS = [0, 16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 1082, 1114, 1184, 3802];
const ARRAY_OIDS = [199, 1000, 1001, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1115, 1182, 1185, 1231, 2951, 3807];

/**
 * A parameter's text as our own client sends it (wire/values.ts encodeParam): by its JavaScript type alone,
 * never by the type the server inferred.
 */
export function parameterText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return '\\x' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return String(value);
}

/** The `types` option: one entry per type id, with our parser and our parameter text. */
export const POSTGRES_JS_TYPES: Record<string, PostgresType> = Object.fromEntries(
  [...SCALAR_OIDS, ...ARRAY_OIDS].map((oid) => [`oid${oid}`, { to: oid, from: [oid], serialize: parameterText, parse: parserFor(oid) }]),
);

export interface PostgresJsSettings {
  target: ConnectionTarget;
  /** postgres.js options, without a URL: it would pass the URL's libpq-only parameters to the server. */
  options: Options<Record<string, PostgresType>>;
}

export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Where and how to connect, read from the URL the way our own client reads it (sslmode, sslrootcert, a Unix
 * socket folder in `host`), as explicit options. No idle timeout or lifetime of postgres.js's own: its timers
 * may close a connection between two statements of one transaction; our pool retires idle connections.
 */
export function postgresJsSettings(url: string, applicationName: string, statementTimeoutMs: number): PostgresJsSettings {
  const target = parseConnectionUrl(url, { application_name: applicationName, statement_timeout: String(statementTimeoutMs) });
  return {
    target,
    options: {
      host: target.host,
      port: target.port,
      ...(target.socketPath ? { path: target.socketPath } : {}),
      user: target.user,
      ...(target.password !== undefined ? { password: target.password } : {}),
      database: target.database,
      ssl: target.sslMode === 'disable' ? false : target.sslMode === 'prefer' ? 'prefer' : tlsOptions(target),
      connection: { application_name: applicationName, statement_timeout: statementTimeoutMs },
      connect_timeout: CONNECT_TIMEOUT_MS / 1000,
      idle_timeout: 0,
      max_lifetime: null,
      // Array types are parsed by ours (ARRAY_OIDS); fetching them would also replace our parameter text.
      fetch_types: false,
      types: POSTGRES_JS_TYPES,
      // Our client sends undefined as NULL.
      transform: { undefined: null },
      onnotice: () => undefined,
    },
  };
}
