/** What the auth module offers the others (the only file of this folder another module may import). */
import type { AuthContext, ProjectScope } from '../../http/auth-context.js';
import type { CredentialGate, CredentialVerifier } from '../../http/credential-gate.js';
import type { MatchClaims } from './access-tokens.js';
import type { Invalidation } from './credential-resolver.js';
import type { PlayerDirectory } from './player-directory.js';

export type { Invalidation } from './credential-resolver.js';
export type { PlayerSummary } from './player-directory.js';
export type { MatchClaims } from './access-tokens.js';

/** Who a credential stands for, and every later change to that answer. */
export interface Credentials extends CredentialVerifier {
  resolve(credential: string): Promise<AuthContext>;
  /** Hears every invalidation applied on this node, local or from another node (realtime closes sockets). */
  onInvalidate(listener: (event: Invalidation) => void): void;
}

export interface AuthApi {
  credentials: Credentials;
  /** Authenticates an encapsulated context; the app hands it to every module's routes. */
  gate: CredentialGate;
  /** Signs match tokens (docs/api/matchmaker.md) with the access-token keys. */
  matchTokens: {
    sign(claims: MatchClaims, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }>;
    /** The issuer and the JWKS a game server verifies match tokens with (the local fleet hands them on). */
    verification(): Promise<{ issuer: string; jwks: { keys: Record<string, unknown>[] } }>;
  };
  /** Hears every sign-in on this node (signup, login, device, refresh) once its session has committed. */
  onSignIn(listener: (scope: ProjectScope, playerId: string) => void): void;
  /** Which players exist in a project, and their usernames. */
  players: Pick<PlayerDirectory, 'find' | 'get' | 'byUsername'>;
}

declare module '../contract.js' {
  interface Provisions {
    auth: AuthApi;
  }
}
