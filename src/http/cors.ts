/**
 * CORS for browser games, from two sources (CORS_ORIGINS, and each project's cors_origins):
 * - an origin in CORS_ORIGINS ('*': any) may read every answer;
 * - an origin in a project's settings may read that project's answers only. A preflight carries no
 *   credential, so it is allowed when any project lists the origin; the actual request is authenticated,
 *   and its answer carries Access-Control-Allow-Origin only if the caller's project lists the origin.
 * No credentials mode: ggscale uses bearer tokens, never cookies. Requests without an Origin pay one
 * header lookup.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ProjectScope } from './auth-context.js';

const ALLOWED_METHODS = 'GET, HEAD, PUT, PATCH, POST, DELETE';
const ALLOWED_HEADERS = 'authorization, content-type, if-match, if-none-match, idempotency-key, x-request-id';
const EXPOSED_HEADERS = 'x-request-id, etag, ratelimit, ratelimit-policy, retry-after';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

export interface CorsPolicy {
  /** CORS_ORIGINS: origins allowed on every route ('*' allows any). */
  global: readonly string[];
  /** Whether some project lists the origin (for preflights). */
  anyProjectAllows(origin: string): Promise<boolean>;
  /** Whether this project lists the origin (for its own answers). */
  projectAllows(scope: ProjectScope, origin: string): boolean | Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** An Origin that CORS_ORIGINS does not allow: decided once the caller's project is known. */
    corsOrigin: string | undefined;
  }
}

function varyOnOrigin(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  reply.header('vary', vary === undefined ? 'Origin' : `${String(vary)}, Origin`);
}

function allowOrigin(reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', EXPOSED_HEADERS);
}

export function registerCors(app: FastifyInstance, policy: CorsPolicy): void {
  const anyOrigin = policy.global.includes('*');
  const global = new Set(policy.global);
  app.decorateRequest('corsOrigin', undefined);

  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string') {
      done();
      return;
    }
    varyOnOrigin(reply);
    const everywhere = anyOrigin || global.has(origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      // An origin nobody allows gets no CORS headers: the request goes on as a plain OPTIONS (404).
      const decided = everywhere ? Promise.resolve(true) : policy.anyProjectAllows(origin).catch(() => false);
      decided.then((allowed) => {
        if (!allowed) {
          done();
          return;
        }
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-allow-methods', ALLOWED_METHODS);
        reply.header('access-control-allow-headers', ALLOWED_HEADERS);
        reply.header('access-control-max-age', PREFLIGHT_MAX_AGE_SECONDS);
        void reply.code(204).send();
      }, done);
      return;
    }
    if (everywhere) allowOrigin(reply, origin);
    else request.corsOrigin = origin;
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const origin = request.corsOrigin;
    const auth = request.auth;
    if (origin === undefined || auth === undefined || !auth.projectId) {
      done(null, payload);
      return;
    }
    const allowed = policy.projectAllows(auth, origin);
    if (typeof allowed === 'boolean') {
      if (allowed) allowOrigin(reply, origin);
      done(null, payload);
      return;
    }
    allowed.then(
      (yes) => {
        if (yes) allowOrigin(reply, origin);
        done(null, payload);
      },
      // The answer itself stands; only its CORS headers are withheld.
      () => done(null, payload),
    );
  });
}
