/**
 * The composition root of the domain services: built once per app from the infrastructure it is given.
 */
import type { Config } from '../app/config.js';
import { MemoryCache } from '../internal/cache/memory.js';
import { DeploymentNamespace } from '../internal/cache/namespace.js';
import type { AppDeps } from './app.js';
import { AccessTokens } from '../modules/auth/access-tokens.js';
import { AuthService } from '../modules/auth/auth-service.js';
import { CredentialResolver } from '../modules/auth/credential-resolver.js';
import { PasswordHasher } from '../modules/auth/password-hasher.js';
import { SecretBox } from '../modules/auth/secret-box.js';
import { SessionStore } from '../modules/auth/sessions.js';
import { SignInBudgets } from '../modules/auth/sign-in-budgets.js';
import { SigningKeyStore } from '../modules/auth/signing-keys.js';
import { RateLimiter } from '../modules/ratelimit/limiter.js';
import { RequestBudgets } from '../modules/ratelimit/request-budgets.js';
import { ProjectOrigins } from '../modules/tenancy/project-origins.js';
import { ProjectSettingsCache } from '../modules/tenancy/project-settings-cache.js';
import { TenancyService } from '../modules/tenancy/tenancy-service.js';

export type Services = Awaited<ReturnType<typeof buildServices>>;

export async function buildServices(deps: AppDeps, config: Config) {
  const { db, cache, logger, metrics } = deps;
  const keys = new SigningKeyStore(db, new SecretBox(config.auth.secretKey), { accessTtlSeconds: config.auth.accessTtlSeconds });
  // Read from the database on first use: the token issuer (without GGSCALE_PUBLIC_URL) and the Redis rank
  // index's keys derive from it.
  const namespace = new DeploymentNamespace(db);
  const tokens = new AccessTokens(keys, {
    issuer: config.tokenIssuer ?? { namespace: () => namespace.get() },
    ttlSeconds: config.auth.accessTtlSeconds,
  });
  const resolver = new CredentialResolver(db, cache, tokens, logger, {
    adminToken: config.adminToken,
    ttlMs: config.auth.credentialCacheMs,
    negativeTtlMs: config.auth.negativeCacheMs,
  });
  await resolver.start();
  const settings = new ProjectSettingsCache(db, cache, config.auth.credentialCacheMs);
  await settings.start();
  const projectOrigins = new ProjectOrigins(db, cache, config.auth.credentialCacheMs);
  await projectOrigins.start();
  // The per-node fallback when a shared backend is unreachable.
  const localCache = cache.kind === 'memory' ? cache : new MemoryCache();
  const limiter = new RateLimiter(cache, localCache, metrics, logger);
  const hasher = new PasswordHasher({ concurrency: config.auth.hashConcurrency, maxQueue: config.auth.hashQueue });
  const sessions = new SessionStore(tokens, {
    refreshTtlSeconds: config.auth.refreshTtlSeconds,
    reuseGraceSeconds: config.auth.reuseGraceSeconds,
  });
  return {
    namespace,
    keys,
    tokens,
    resolver,
    settings,
    projectOrigins,
    limiter,
    localCache,
    auth: new AuthService(db, tokens, sessions, hasher, resolver),
    budgets: new SignInBudgets(limiter, settings, config.limits),
    requestBudgets: new RequestBudgets(limiter, settings, config.limits),
    tenancy: new TenancyService(db, resolver, logger, (projectId) => settings.changed(projectId)),
    async close() {
      if (localCache !== cache) await localCache.close();
    },
  };
}
