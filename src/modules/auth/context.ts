/** Who is calling, bound to exactly one tenant and one project (operators to none). */
export type CredentialKind = 'operator' | 'secret' | 'publishable' | 'player';

export interface AuthContext {
  kind: CredentialKind;
  /** Empty for the operator. */
  tenantId: string;
  projectId: string;
  keyId?: string;
  playerId?: string;
  sessionId?: string;
}

export interface ProjectScope {
  tenantId: string;
  projectId: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The domain services (see src/http/services.ts), for the CLI and tests. */
    services: import('../../http/services.js').Services;
  }
  interface FastifyRequest {
    /** Set by the auth hook of the route's context before any handler runs. */
    auth?: AuthContext;
  }
}
