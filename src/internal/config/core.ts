/**
 * The server's own settings (listening, database, cache, logging, HTTP limits): the top level of the Config.
 * Domain modules declare their variables in their own config.ts; the root (src/app/config.ts) composes them.
 */
import { resolve } from 'node:path';
import { ConfigError, list as listOf, text as textOf, type Env } from './parse.js';
import { boolean, custom, defineSection, integer, list, oneOf, text, url, type ConfigSection } from './section.js';

export type CacheBackendKind = 'memory' | 'redis';
/** The PostgreSQL client: ours (wire-protocol, the default) or the postgres.js library. */
export type DatabaseDriver = 'wire' | 'postgres.js';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface CoreConfig {
  port: number;
  host: string;
  /** Unset → embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  /** The owner role's URL, used for migrations and the operator path; defaults to databaseUrl. */
  databaseMigrationUrl: string | undefined;
  /** Which client talks to PostgreSQL (DATABASE_DRIVER); the embedded database ignores it. */
  databaseDriver: DatabaseDriver;
  dataDir: string;
  cacheBackend: CacheBackendKind;
  redisUrl: string;
  logLevel: LogLevel;
  /** Unset on the embedded default → generated into dataDir/admin-token. */
  adminToken: string | undefined;
  /** GGSCALE_PUBLIC_URL, or this node's local URL when unset (the OpenAPI document's server). */
  publicUrl: string;
  /**
   * The access tokens' `iss`: GGSCALE_PUBLIC_URL when set. Unset, every node derives the same one from the
   * deployment namespace (`urn:ggscale:<namespace>`), so nodes on different ports accept each other's tokens.
   */
  tokenIssuer: string | undefined;
  migrateOnStart: boolean;
  requestTimeoutMs: number;
  statementTimeoutMs: number;
  dbPoolSize: number;
  shutdownTimeoutMs: number;
  bodyLimitBytes: number;
  corsOrigins: string[];
  /**
   * How long a node trusts what it cached about a credential or a project (settings, origins) without asking
   * again: the backstop for a change whose pub/sub notice it missed.
   */
  credentialCacheMs: number;
  /** false, true (trust every hop), or a list of addresses / CIDR ranges of trusted proxies. */
  trustProxy: boolean | string[];
  commit: string;
}

function trustProxy(env: Env): boolean | string[] {
  const raw = textOf(env, 'TRUST_PROXY');
  if (raw === undefined || ['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
  if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  const entries = listOf(env, 'TRUST_PROXY');
  for (const entry of entries) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry)) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not an IP address or CIDR range (or true/false)`);
    }
  }
  return entries;
}

const POSTGRES = ['postgres:', 'postgresql:'];
const withoutTrailingSlash = (value: string) => value.replace(/\/+$/, '');

export const coreSection: ConfigSection<'core', CoreConfig> = defineSection(
  'core',
  'Server',
  {
    port: integer('PORT', { default: 8080, min: 0, max: 65535, doc: 'port to listen on' }),
    host: text('HOST', { default: '0.0.0.0', doc: 'address to listen on' }),
    databaseUrl: url('DATABASE_URL', POSTGRES, { defaultDoc: 'unset → embedded', doc: 'PostgreSQL URL of the runtime login role' }),
    databaseMigrationUrl: url('DATABASE_MIGRATION_URL', POSTGRES, {
      defaultDoc: '`DATABASE_URL`',
      doc: 'owner role for migrations and the operator path',
    }),
    databaseDriver: oneOf('DATABASE_DRIVER', ['wire', 'postgres.js'], {
      default: 'wire',
      doc: "PostgreSQL client: `wire` (ggscale's own) or `postgres.js`; the embedded database ignores it",
    }),
    dbPoolSize: integer('DB_POOL_SIZE', { default: 10, min: 1, max: 1000, doc: 'PostgreSQL connections per node' }),
    dataDir: text('GGSCALE_DATA_DIR', { default: './data', doc: 'embedded database, operator token, lock file' }),
    migrateOnStart: boolean('GGSCALE_MIGRATE_ON_START', {
      default: true,
      doc: 'apply pending migrations at start (`ggscale migrate` does it by hand)',
    }),
    cacheBackend: oneOf('CACHE_BACKEND', ['memory', 'redis'], { default: 'memory', doc: '`memory` (one node) or `redis` (shared by every node)' }),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:'], { default: 'redis://127.0.0.1:6379', doc: 'Redis for `CACHE_BACKEND=redis`' }),
    logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', doc: '`fatal` … `trace`, `silent`' }),
    adminToken: text('GGSCALE_ADMIN_TOKEN', {
      minLength: 32,
      defaultDoc: 'generated (embedded)',
      doc: 'operator token, ≥ 32 characters; unset with `DATABASE_URL` disables the operator API',
    }),
    publicUrl: url('GGSCALE_PUBLIC_URL', ['http:', 'https:'], {
      doc:
        'the `iss` of access tokens and the OpenAPI server. Unset, the issuer is `urn:ggscale:<deployment namespace>` ' +
        "(the same on every node of a deployment, so nodes on different ports accept each other's tokens) and the " +
        'OpenAPI server is `http://localhost:$PORT`; when set, give every node the same value',
    }),
    commit: text('GGSCALE_COMMIT', { default: 'unknown', defaultDoc: 'recorded at build', doc: 'reported by healthz' }),
    requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', { default: 10_000, min: 100, max: 600_000, doc: 'request timeout' }),
    statementTimeoutMs: integer('STATEMENT_TIMEOUT_MS', { default: 5_000, min: 10, max: 600_000, doc: 'SQL statement timeout' }),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', {
      default: 10_000,
      min: 0,
      max: 600_000,
      doc: 'how long in-flight requests may finish on SIGTERM',
    }),
    bodyLimitBytes: integer('BODY_LIMIT_BYTES', { default: 1_048_576, min: 1024, max: 1_073_741_824, doc: 'largest JSON body' }),
    corsOrigins: list('CORS_ORIGINS', {
      doc:
        'comma-separated origins (or `*`) allowed to call every route from browsers; a project\'s own origins are set ' +
        'with `PATCH /v1/admin/projects/{id}` `{"cors_origins": [...]}` and allow that project\'s answers only',
      check: (origin) => (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin) ? `"${origin}" is not an origin such as https://game.example` : undefined),
    }),
    credentialCacheMs: integer('CREDENTIAL_CACHE_MS', {
      default: 5_000,
      min: 0,
      max: 60_000,
      doc: "how long a resolved credential or a project's settings are trusted without asking again",
    }),
    trustProxy: custom('TRUST_PROXY', {
      defaultDoc: '`false`',
      doc: '`true`, or addresses/CIDRs of proxies whose `X-Forwarded-For` is believed',
      parse: trustProxy,
    }),
  },
  (values) => ({
    ...values,
    dataDir: resolve(values.dataDir),
    databaseMigrationUrl: values.databaseMigrationUrl ?? values.databaseUrl,
    publicUrl: withoutTrailingSlash(values.publicUrl ?? `http://localhost:${values.port}`),
    tokenIssuer: values.publicUrl === undefined ? undefined : withoutTrailingSlash(values.publicUrl),
  }),
);
