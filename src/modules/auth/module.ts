/**
 * Player auth and the credentials of every request: signing keys and access tokens, sessions and refresh
 * rotation, sign-in budgets, and the credential gate every module's routes are guarded by.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { createCredentialGate } from '../../http/credential-gate.js';
import { defineModule } from '../contract.js';
import { AccessTokens } from './access-tokens.js';
import { authRoutes } from './auth-routes.js';
import { AuthService } from './auth-service.js';
import { authSection } from './config.js';
import { CredentialResolver } from './credential-resolver.js';
import { PasswordHasher } from './password-hasher.js';
import { PlayerDirectory } from './player-directory.js';
import { SecretBox } from './secret-box.js';
import { SessionStore } from './sessions.js';
import { SignInBudgets } from './sign-in-budgets.js';
import { signingKeyRoutes } from './signing-key-routes.js';
import { SigningKeyStore } from './signing-keys.js';

export const authModule = defineModule({
  name: 'auth',
  config: authSection,
  needs: ['tenancy', 'ratelimit'],
  tables: ['players', 'identities', 'sessions', 'refresh_tokens', 'signing_keys'],
  async build({ config, infra, needs }) {
    const { db, cache, logger, core, namespace } = infra;
    const keys = new SigningKeyStore(db, new SecretBox(config.secretKey), { accessTtlSeconds: config.accessTtlSeconds });
    const tokens = new AccessTokens(keys, {
      // Without GGSCALE_PUBLIC_URL the issuer derives from the deployment namespace, read on first use.
      issuer: core.tokenIssuer ?? { namespace: () => namespace.get() },
      ttlSeconds: config.accessTtlSeconds,
    });
    const resolver = new CredentialResolver(db, cache, tokens, logger, {
      adminToken: core.adminToken,
      ttlMs: core.credentialCacheMs,
      negativeTtlMs: config.negativeCacheMs,
    });
    await resolver.start();
    needs.tenancy.onRevoked((event) => resolver.invalidate(event));

    const hasher = new PasswordHasher({ concurrency: config.hashConcurrency, maxQueue: config.hashQueue });
    const sessions = new SessionStore(tokens, { refreshTtlSeconds: config.refreshTtlSeconds, reuseGraceSeconds: config.reuseGraceSeconds });
    const signInListeners: ((scope: ProjectScope, playerId: string) => void)[] = [];
    const auth = new AuthService(db, tokens, sessions, hasher, resolver, (scope, playerId) => {
      for (const listener of signInListeners) listener(scope, playerId);
    });
    const budgets = new SignInBudgets(needs.ratelimit.limiter, needs.tenancy.settings, needs.ratelimit.limits);
    const gate = createCredentialGate(resolver, needs.ratelimit.requestBudgets);
    return {
      provides: {
        credentials: resolver,
        gate,
        players: new PlayerDirectory(db),
        onSignIn: (listener) => void signInListeners.push(listener),
        matchTokens: { sign: (claims, ttl) => tokens.signMatch(claims, ttl), verification: () => tokens.verification() },
      },
      async routes(app) {
        await authRoutes(app, { auth, budgets, keys, gate });
        await app.register(async (operator) => {
          gate(operator, ['operator']);
          await signingKeyRoutes(operator, { keys, publishLeadSeconds: config.keyPublishLeadSeconds });
        });
      },
    };
  },
});
