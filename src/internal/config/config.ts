/**
 * Configuration from the environment, validated once at start into one typed object that is passed down.
 * Nothing else in the server reads process.env. A bad value throws ConfigError naming the variable.
 */
import { resolve } from 'node:path';
import { ConfigError, boolean, integer, list, oneOf, text, url, type Env } from './parse.js';

export { ConfigError } from './parse.js';
// Domain sections: each module parses its own variables (one line each below and in Config).
import { loadFleetConfig, type FleetConfig } from '../../modules/fleet/config.js';
import { loadRealtimeConfig, type RealtimeConfig } from '../../modules/realtime/config.js';
import { loadLeaderboardsConfig, type LeaderboardsConfig } from '../../modules/leaderboards/config.js';
import { loadStorageConfig, type StorageConfig } from '../../modules/storage/config.js';
// @domain-config-imports

export type CacheBackendKind = 'memory' | 'redis';
/** The PostgreSQL client: ours (wire-protocol, the default) or the postgres.js library. */
export type DatabaseDriver = 'wire' | 'postgres.js';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
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
  /** false, true (trust every hop), or a list of addresses / CIDR ranges of trusted proxies. */
  trustProxy: boolean | string[];
  metricsPort: number | undefined;
  commit: string;
  auth: AuthConfig;
  limits: LimitsConfig;
  fleet: FleetConfig;
  realtime: RealtimeConfig;
  leaderboards: LeaderboardsConfig;
  storage: StorageConfig;
  // @domain-config-fields
}

export interface AuthConfig {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  reuseGraceSeconds: number;
  /** Encrypts signing keys at rest when set. */
  secretKey: string | undefined;
  /** How long a resolved credential is trusted without asking again: the backstop for a missed revocation. */
  credentialCacheMs: number;
  negativeCacheMs: number;
  hashConcurrency: number;
  hashQueue: number;
  keyPublishLeadSeconds: number;
}

/** Default request budgets and connection caps; a project may override each (docs/api/rate-limits.md). */
export interface LimitsConfig {
  perPlayerPerMin: number;
  perSecretKeyPerMin: number;
  authPerIpPerMin: number;
  authPerProjectPerMin: number;
  authFailuresPerEmailIp: number;
  authFailuresPerEmail: number;
  authFailureWindowMs: number;
  badCredentialsPerIpPerMin: number;
  preAuthPerIpPerMin: number;
  wsPerTenant: number;
  wsPerPlayer: number;
}

function trustProxy(env: Env): boolean | string[] {
  const raw = text(env, 'TRUST_PROXY');
  if (raw === undefined || ['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
  if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  const entries = list(env, 'TRUST_PROXY');
  for (const entry of entries) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry)) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not an IP address or CIDR range (or true/false)`);
    }
  }
  return entries;
}

function secretKey(env: Env): string | undefined {
  const value = text(env, 'GGSCALE_SECRET_KEY');
  if (value !== undefined && value.length < 32) throw new ConfigError('GGSCALE_SECRET_KEY', 'must be at least 32 characters long');
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const adminToken = text(env, 'GGSCALE_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 32) {
    throw new ConfigError('GGSCALE_ADMIN_TOKEN', 'must be at least 32 characters long');
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const cacheBackend = oneOf(env, 'CACHE_BACKEND', ['memory', 'redis'] as const, 'memory');
  const corsOrigins = list(env, 'CORS_ORIGINS');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin such as https://game.example`);
    }
  }
  const metricsPortRaw = text(env, 'METRICS_PORT');
  return {
    port,
    host: text(env, 'HOST') ?? '0.0.0.0',
    databaseUrl,
    databaseMigrationUrl: url(env, 'DATABASE_MIGRATION_URL', ['postgres:', 'postgresql:']) ?? databaseUrl,
    databaseDriver: oneOf(env, 'DATABASE_DRIVER', ['wire', 'postgres.js'] as const, 'wire'),
    dataDir: resolve(text(env, 'GGSCALE_DATA_DIR') ?? './data'),
    cacheBackend,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    adminToken,
    publicUrl: (url(env, 'GGSCALE_PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    tokenIssuer: url(env, 'GGSCALE_PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    migrateOnStart: boolean(env, 'GGSCALE_MIGRATE_ON_START', true),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
    statementTimeoutMs: integer(env, 'STATEMENT_TIMEOUT_MS', 5_000, 10, 600_000),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 10, 1, 1000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 1_073_741_824),
    corsOrigins,
    trustProxy: trustProxy(env),
    metricsPort: metricsPortRaw === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 1, 65535),
    commit: text(env, 'GGSCALE_COMMIT') ?? 'unknown',
    auth: {
      accessTtlSeconds: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
      refreshTtlSeconds: integer(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
      reuseGraceSeconds: integer(env, 'REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      secretKey: secretKey(env),
      credentialCacheMs: integer(env, 'CREDENTIAL_CACHE_MS', 5_000, 0, 60_000),
      negativeCacheMs: integer(env, 'NEGATIVE_CREDENTIAL_CACHE_MS', 5_000, 0, 60_000),
      hashConcurrency: integer(env, 'PASSWORD_HASH_CONCURRENCY', 4, 1, 64),
      hashQueue: integer(env, 'PASSWORD_HASH_QUEUE', 256, 0, 100_000),
      keyPublishLeadSeconds: integer(env, 'SIGNING_KEY_PUBLISH_LEAD_SECONDS', 300, 0, 86_400),
    },
    limits: {
      perPlayerPerMin: integer(env, 'RATE_LIMIT_PER_MIN', 600, 0, 100_000_000),
      perSecretKeyPerMin: integer(env, 'SECRET_KEY_RATE_LIMIT_PER_MIN', 6_000, 0, 100_000_000),
      authPerIpPerMin: integer(env, 'AUTH_RATE_LIMIT_PER_MIN', 60, 0, 100_000_000),
      authPerProjectPerMin: integer(env, 'PROJECT_AUTH_RATE_LIMIT_PER_MIN', 6_000, 0, 100_000_000),
      authFailuresPerEmailIp: integer(env, 'AUTH_FAILURES_PER_EMAIL_IP', 5, 0, 100_000_000),
      authFailuresPerEmail: integer(env, 'AUTH_FAILURES_PER_EMAIL', 50, 0, 100_000_000),
      authFailureWindowMs: integer(env, 'AUTH_FAILURE_WINDOW_SECONDS', 600, 1, 86_400) * 1000,
      badCredentialsPerIpPerMin: integer(env, 'BAD_CREDENTIALS_PER_IP_PER_MIN', 120, 0, 100_000_000),
      preAuthPerIpPerMin: integer(env, 'PRE_AUTH_RATE_LIMIT_PER_MIN', 6_000, 0, 100_000_000),
      wsPerTenant: integer(env, 'WS_MAX_CONNECTIONS_PER_TENANT', 1_000, 0, 100_000_000),
      wsPerPlayer: integer(env, 'WS_MAX_CONNECTIONS_PER_PLAYER', 5, 0, 100_000_000),
    },
    fleet: loadFleetConfig(env),
    realtime: loadRealtimeConfig(env),
    leaderboards: loadLeaderboardsConfig(env),
    storage: loadStorageConfig(env),
    // @domain-config-values
  };
}
