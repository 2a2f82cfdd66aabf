/**
 * The echo server's optional admission check (`ggscale gameserver --require-match-token`): the reference for
 * what any game server does with the match token a player shows (docs/api/matchmaker.md). A token is admitted
 * when it verifies against the deployment's JWKS (EdDSA), names the deployment's issuer, has not expired, has
 * audience `match:<id>` for the match this server is allocated to (its `ggscale.dev/match` label, read through
 * the SDK at each check, since a server may be allocated again), and its `jti` was not admitted before.
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { AgonesSdkClient } from './sdk-client.js';

const MATCH_LABEL = 'ggscale.dev/match';
/** Token ids remembered for replay refusal at most; each is forgotten once its token has expired anyway. */
const MAX_REMEMBERED = 100_000;

export interface MatchAdmissionOptions {
  /** Where the keys are published (ggscale's `/.well-known/jwks.json`, or the local fleet's copy). */
  jwksUrl: string;
  /** The deployment's issuer (`iss` of its tokens). */
  issuer: string;
  sdk: Pick<AgonesSdkClient, 'getGameServer'>;
}

export type Admission = { admitted: true; playerId: string; team: number } | { admitted: false; reason: string };

export class MatchAdmission {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;
  /** jti → when its token expires (ms): a token is admitted once. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: MatchAdmissionOptions) {
    // Fetched on first use, and again when a token names a key id it does not know (a rotated key).
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 10_000 });
  }

  async admit(token: string): Promise<Admission> {
    let matchId: string | undefined;
    try {
      matchId = (await this.options.sdk.getGameServer()).labels[MATCH_LABEL];
    } catch {
      return { admitted: false, reason: 'the game server SDK cannot be reached' };
    }
    if (!matchId) return { admitted: false, reason: 'this server is not allocated to a match' };
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, { algorithms: ['EdDSA'], issuer: this.options.issuer, audience: `match:${matchId}` }));
    } catch (error) {
      return { admitted: false, reason: refusal(error) };
    }
    const { sub, jti, exp, team } = payload;
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number' || typeof team !== 'number') {
      return { admitted: false, reason: 'the token is not a match token' };
    }
    const now = Date.now();
    this.forgetExpired(now);
    if (this.seen.has(jti)) return { admitted: false, reason: 'the token was used already' };
    if (this.seen.size >= MAX_REMEMBERED) return { admitted: false, reason: 'too many admissions at once; try again shortly' };
    this.seen.set(jti, exp * 1000);
    return { admitted: true, playerId: sub, team };
  }

  /** Tokens share one lifetime, so admission order is expiry order: stop at the first that is still live. */
  private forgetExpired(now: number): void {
    for (const [jti, expiresAt] of this.seen) {
      if (expiresAt > now) return;
      this.seen.delete(jti);
    }
  }
}

/** Why a token was refused, in a few words (nothing of the token itself). */
function refusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'aud' ? 'the token is for another match' : `the token's ${error.claim} claim is not valid here`;
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) return 'the token is not signed by this deployment';
  // Not a verdict on the token: the keys could not be fetched (a timeout, a network error, a bad answer).
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) {
    return 'the keys cannot be fetched now; try again shortly';
  }
  return 'the token is not valid';
}
