/**
 * Access tokens: EdDSA JWTs with a kid, claims sub/tid/pid/sid/iss/aud/iat/exp (API.md). Ed25519 signatures
 * are deterministic, so the same claims signed with the same key give the same token: a retried refresh
 * within the grace window answers the very same pair without storing any access token.
 */
import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { unauthorized } from '../../internal/errors/app-error.js';
import type { SigningKeyStore } from './signing-keys.js';

export interface AccessSubject {
  playerId: string;
  tenantId: string;
  projectId: string;
  sessionId: string;
}

export interface VerifiedAccess extends AccessSubject {
  expiresAt: number;
}

const ID = /^\d{1,19}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class AccessTokens {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: { issuer: string; ttlSeconds: number },
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /**
   * Loads the signing keys. Call it BEFORE opening a transaction that signs: loading uses the operator path,
   * and PGlite's single session cannot run it from inside another transaction.
   */
  ready(): Promise<void> {
    return this.keys.ensureLoaded();
  }

  /** Signs with `kid` when given (a retried refresh), else with the current signing key. Needs ready(). */
  async sign(subject: AccessSubject, issuedAt: Date, kid?: string): Promise<{ token: string; kid: string; expiresAt: Date }> {
    const key = (kid && this.keys.verificationKey(kid)) || this.keys.signingKey();
    const iat = Math.floor(issuedAt.getTime() / 1000);
    const exp = iat + this.options.ttlSeconds;
    const token = await new SignJWT({ tid: subject.tenantId, pid: subject.projectId, sid: subject.sessionId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setSubject(subject.playerId)
      .setIssuer(this.options.issuer)
      .setAudience(`project:${subject.projectId}`)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, kid: key.kid, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies signature, issuer, expiry and that aud names the token's own project. Throws 401. */
  async verify(token: string): Promise<VerifiedAccess> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw unauthorized('The access token is malformed.');
    }
    if (typeof kid !== 'string') throw unauthorized('The access token has no key id.');
    await this.keys.ensureLoaded();
    const key = this.keys.verificationKey(kid) ?? (await this.keys.refreshForUnknownKid(kid));
    if (!key) throw unauthorized('The access token was signed by an unknown key.');
    try {
      const { payload } = await jwtVerify(token, key.publicKey, { issuer: this.options.issuer, algorithms: ['EdDSA'] });
      const { sub, tid, pid, sid, aud, exp } = payload as Record<string, unknown>;
      if (
        typeof sub !== 'string' || !ID.test(sub) ||
        typeof tid !== 'string' || !ID.test(tid) ||
        typeof pid !== 'string' || !ID.test(pid) ||
        typeof sid !== 'string' || !UUID.test(sid) ||
        aud !== `project:${pid}` || typeof exp !== 'number'
      ) {
        throw unauthorized('The access token claims are invalid.');
      }
      return { playerId: sub, tenantId: tid, projectId: pid, sessionId: sid, expiresAt: exp * 1000 };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('The access token has expired.');
      if (error instanceof joseErrors.JOSEError) throw unauthorized('The access token is invalid.');
      throw error;
    }
  }
}
