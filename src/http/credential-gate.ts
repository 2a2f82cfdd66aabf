/**
 * Auth boundaries are Fastify encapsulated contexts: each context passes itself to the gate with the credential
 * kinds it accepts, so every route inside is authenticated before any handler (or body parsing) runs. The gate
 * is built once by the app from the auth module's verifier and the rate-limit module's budgets.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, forbidden, unauthorized } from '../internal/errors/app-error.js';
import { documentAuth } from './openapi.js';
import { INVALID_TOKEN_CHALLENGE } from './problem.js';
import { projectScopeOf, type AuthContext, type CredentialKind, type ProjectScope } from './auth-context.js';

// The scheme is case-insensitive (RFC 9110 §11.1) and followed by one or more spaces (RFC 6750 §2.1).
const BEARER = /^bearer +([\x21-\x7e]{1,4096})$/i;

export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}

const KIND_NAMES: Record<CredentialKind, string> = {
  operator: 'the operator token',
  secret: 'a secret API key',
  publishable: 'a publishable API key',
  player: 'a player access token',
};

/** Turns a presented credential into who is calling (the auth module's resolver). */
export interface CredentialVerifier {
  /** A positive decision this node already holds: no promise on the hot path. */
  cached(credential: string): AuthContext | undefined;
  /** Throws 401 (AppError 'unauthorized') for an unknown, revoked or expired credential. */
  resolve(credential: string): Promise<AuthContext>;
}

/** The request budgets every authenticated request pays (the rate-limit module's). */
export interface RequestAdmission {
  /** Synchronous when the budget is decided in this process. */
  admit(reply: FastifyReply, auth: AuthContext): void | Promise<void>;
  /** Before an uncached credential is resolved: refuses a client that presented too many bad ones. */
  beforeResolve(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  credentialFailed(request: FastifyRequest): Promise<void>;
}

export interface GateOptions {
  /** Where else a credential may come from: the realtime endpoint's ?token= (documented as that query parameter). */
  credentialOf?: (request: FastifyRequest) => string | undefined;
}

/**
 * Guards every route of an encapsulated context: `gate(scope, ['secret', 'player'])` admits only those
 * credential kinds, after their request budget, before any handler (or body parsing) runs.
 */
export type CredentialGate = (scope: FastifyInstance, accept: readonly CredentialKind[], options?: GateOptions) => void;

export function createCredentialGate(verifier: CredentialVerifier, budgets: RequestAdmission): CredentialGate {
  return (scope, accept, options = {}) => guard(scope, verifier, budgets, accept, options);
}

function guard(app: FastifyInstance, verifier: CredentialVerifier, budgets: RequestAdmission, accept: readonly CredentialKind[], options: GateOptions): void {
  const accepted = new Set(accept);
  const expected = accept.map((kind) => KIND_NAMES[kind]).join(' or ');
  app.addHook('onRoute', (route) => documentAuth(route, accept, { query: options.credentialOf !== undefined }));
  const admit = (request: FastifyRequest, reply: FastifyReply, auth: AuthContext): void | Promise<void> => {
    if (!accepted.has(auth.kind)) throw forbidden(`This route accepts ${expected}, not ${KIND_NAMES[auth.kind]}.`);
    request.auth = auth;
    return budgets.admit(reply, auth);
  };

  const resolveAndAdmit = async (request: FastifyRequest, reply: FastifyReply, credential: string): Promise<void> => {
    await budgets.beforeResolve(request, reply);
    let auth: AuthContext;
    try {
      auth = await verifier.resolve(credential);
    } catch (error) {
      if (error instanceof AppError && error.slug === 'unauthorized') {
        // A credential was presented and refused (RFC 6750 §3.1); a missing one gets the bare challenge.
        reply.header('www-authenticate', INVALID_TOKEN_CHALLENGE);
        await budgets.credentialFailed(request);
      }
      throw error;
    }
    await admit(request, reply, auth);
  };

  // A callback hook, not an async one: a credential this node already trusts, with its budget decided in
  // this process, is admitted without a single promise (this runs before every authenticated request).
  app.addHook('onRequest', (request, reply, done) => {
    // Every answer behind a credential is private (tokens, keys, player data, refusals): no cache may keep
    // it unless its route says otherwise (storage objects revalidate by ETag).
    reply.header('cache-control', 'no-store');
    let pending: void | Promise<void>;
    try {
      const credential = bearerOf(request) ?? options.credentialOf?.(request);
      if (credential === undefined) throw unauthorized(`This route needs ${expected} as "Authorization: Bearer <credential>".`);
      const cached = verifier.cached(credential);
      pending = cached ? admit(request, reply, cached) : resolveAndAdmit(request, reply, credential);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending) pending.then(() => done(), done);
    else done();
  });
}

/** The authenticated context inside a route of a gated context. */
export function authOf(request: FastifyRequest) {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

/** The tenant and project the request's credential is bound to. */
export function scopeOf(request: FastifyRequest): ProjectScope {
  return projectScopeOf(authOf(request));
}
