/**
 * Access tokens: EdDSA JWTs with a kid, claims sub/tid/pid/sid/iss/aud/iat/exp. Ed25519 signatures are
 * deterministic, so the same claims signed with the same key give the same token: a retried refresh within
 * the grace window answers the very same pair without storing any access token.
 *
 * The issuer is GGSCALE_PUBLIC_URL when set. Unset, it is derived from the deployment namespace, which every
 * node of a deployment reads from the same database: a node's own address (its port) would make every other
 * node refuse its players.
 */
import { randomUUID } from 'node:crypto';
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

/** The issuer every node of a deployment shares when GGSCALE_PUBLIC_URL is unset. */
export const issuerOfNamespace = (namespace: string): string => `urn:ggscale:${namespace}`;

export interface AccessTokenOptions {
  /** A fixed issuer (GGSCALE_PUBLIC_URL), or where to read the deployment namespace the default derives from. */
  issuer: string | { namespace(): Promise<string> };
  ttlSeconds: number;
}

/** Who a match token admits: a player, to one match's game server, on one team. */
export interface MatchClaims {
  tenantId: string;
  projectId: string;
  playerId: string;
  matchId: string;
  team: number;
  allocationId: string;
}

export class AccessTokens {
  /** Known once read (at once for a fixed one). */
  private issuer: string | undefined;

  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: AccessTokenOptions,
  ) {
    if (typeof options.issuer === 'string') this.issuer = options.issuer;
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /**
   * Loads the signing keys and the issuer. Call it BEFORE opening a transaction that signs: loading uses the
   * operator path, and PGlite's single session cannot run it from inside another transaction.
   */
  async ready(): Promise<void> {
    if (this.issuer === undefined) await this.loadIssuer();
    await this.keys.ensureLoaded();
  }

  private async loadIssuer(): Promise<string> {
    if (this.issuer !== undefined) return this.issuer;
    const source = this.options.issuer as { namespace(): Promise<string> };
    this.issuer = issuerOfNamespace(await source.namespace());
    return this.issuer;
  }

  /** What a game server needs to check a match token without ggscale: the issuer and the published keys. */
  async verification(): Promise<{ issuer: string; jwks: { keys: Record<string, unknown>[] } }> {
    await this.ready();
    return { issuer: this.issuer!, jwks: this.keys.jwks() };
  }

  /** Signs with `kid` when given (a retried refresh), else with the current signing key. Needs ready(). */
  async sign(subject: AccessSubject, issuedAt: Date, kid?: string): Promise<{ token: string; kid: string; expiresAt: Date }> {
    const key = (kid && this.keys.verificationKey(kid)) || this.keys.signingKey();
    if (this.issuer === undefined) throw new Error('AccessTokens.sign() needs ready() first (the issuer is not loaded)');
    const iat = Math.floor(issuedAt.getTime() / 1000);
    const exp = iat + this.options.ttlSeconds;
    const token = await new SignJWT({ tid: subject.tenantId, pid: subject.projectId, sid: subject.sessionId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setSubject(subject.playerId)
      .setIssuer(this.issuer)
      .setAudience(`project:${subject.projectId}`)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, kid: key.kid, expiresAt: new Date(exp * 1000) };
  }

  /**
   * A match token: the same keys and issuer, audience `match:<id>`, so a game server can check it against the
   * JWKS, and verify() (which wants `project:<id>`) refuses it as a credential.
   */
  async signMatch(claims: MatchClaims, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    await this.ready();
    const key = this.keys.signingKey();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({ tid: claims.tenantId, pid: claims.projectId, mid: claims.matchId, team: claims.team, alc: claims.allocationId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setSubject(claims.playerId)
      .setIssuer(this.issuer!)
      .setAudience(`match:${claims.matchId}`)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
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
    const issuer = this.issuer ?? (await this.loadIssuer());
    await this.keys.ensureLoaded();
    const key = this.keys.verificationKey(kid) ?? (await this.keys.refreshForUnknownKid(kid));
    if (!key) throw unauthorized('The access token was signed by an unknown key.');
    try {
      const { payload } = await jwtVerify(token, key.publicKey, { issuer, algorithms: ['EdDSA'] });
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
