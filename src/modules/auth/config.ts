/** The auth module's environment variables (tokens, signing keys, credential caches, password hashing). */
import type { Env } from '../../internal/config/parse.js';
import { defineSection, integer, text, type ConfigSection } from '../../internal/config/section.js';

export interface AuthConfig {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  reuseGraceSeconds: number;
  /** Encrypts signing keys at rest when set. */
  secretKey: string | undefined;
  negativeCacheMs: number;
  hashConcurrency: number;
  hashQueue: number;
  keyPublishLeadSeconds: number;
}

export const authSection: ConfigSection<'auth', AuthConfig> = defineSection('auth', 'Authentication', {
  accessTtlSeconds: integer('ACCESS_TOKEN_TTL_SECONDS', { default: 900, min: 30, max: 86_400, doc: 'access-token lifetime' }),
  refreshTtlSeconds: integer('REFRESH_TOKEN_TTL_SECONDS', {
    default: 30 * 86_400,
    min: 60,
    max: 365 * 86_400,
    doc: 'refresh-token lifetime (sliding)',
  }),
  reuseGraceSeconds: integer('REFRESH_REUSE_GRACE_SECONDS', {
    default: 10,
    min: 0,
    max: 300,
    doc: 'a retried refresh within this window answers the same pair',
  }),
  secretKey: text('GGSCALE_SECRET_KEY', { minLength: 32, doc: '≥ 32 characters; encrypts the token-signing keys at rest' }),
  negativeCacheMs: integer('NEGATIVE_CREDENTIAL_CACHE_MS', {
    default: 5_000,
    min: 0,
    max: 60_000,
    doc: 'how long an unknown credential is taken as unknown without asking again',
  }),
  hashConcurrency: integer('PASSWORD_HASH_CONCURRENCY', { default: 4, min: 1, max: 64, doc: 'argon2id hashes at once' }),
  hashQueue: integer('PASSWORD_HASH_QUEUE', { default: 256, min: 0, max: 100_000, doc: 'hashes that may wait for one of them (beyond: `503`)' }),
  keyPublishLeadSeconds: integer('SIGNING_KEY_PUBLISH_LEAD_SECONDS', {
    default: 300,
    min: 0,
    max: 86_400,
    doc: 'a rotated key is published this long before it signs',
  }),
});

export const loadAuthConfig = (env: Env): AuthConfig => authSection.parse(env);
