/**
 * Auth boundaries are Fastify encapsulated contexts: each context registers this hook with the credential
 * kinds it accepts, so every route inside is authenticated before any handler (or body parsing) runs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, forbidden, unauthorized } from '../internal/errors/app-error.js';
import { documentAuth } from './openapi.js';
import { INVALID_TOKEN_CHALLENGE } from './problem.js';
import type { AuthContext, CredentialKind } from '../modules/auth/context.js';
import type { CredentialResolver } from '../modules/auth/credential-resolver.js';

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

export interface AuthHookOptions {
  resolver: CredentialResolver;
  accept: CredentialKind[];
  /** Where else a credential may come from: the realtime endpoint's ?token= (documented as that query parameter). */
  credentialOf?: (request: FastifyRequest) => string | undefined;
}

export function addAuthHook(app: FastifyInstance, options: AuthHookOptions): void {
  const accepted = new Set(options.accept);
  const expected = options.accept.map((kind) => KIND_NAMES[kind]).join(' or ');
  app.addHook('onRoute', (route) => documentAuth(route, options.accept, { query: options.credentialOf !== undefined }));
  const admit = (request: FastifyRequest, reply: FastifyReply, auth: AuthContext): void | Promise<void> => {
    if (!accepted.has(auth.kind)) throw forbidden(`This route accepts ${expected}, not ${KIND_NAMES[auth.kind]}.`);
    request.auth = auth;
    return request.server.services.requestBudgets.admit(reply, auth);
  };

  const resolveAndAdmit = async (request: FastifyRequest, reply: FastifyReply, credential: string): Promise<void> => {
    const budgets = request.server.services.requestBudgets;
    await budgets.beforeResolve(request, reply);
    let auth: AuthContext;
    try {
      auth = await options.resolver.resolve(credential);
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
      const cached = options.resolver.cached(credential);
      pending = cached ? admit(request, reply, cached) : resolveAndAdmit(request, reply, credential);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending) pending.then(() => done(), done);
    else done();
  });
}

/** The authenticated context inside a route registered under addAuthHook. */
export function authOf(request: FastifyRequest) {
  if (!request.auth) throw unauthorized();
  return request.auth;
}
