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

/** Only the tenant and project of what carries them (an auth context, a realtime session). */
export const projectScopeOf = ({ tenantId, projectId }: ProjectScope): ProjectScope => ({ tenantId, projectId });

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the credential gate of the route's context before any handler runs. */
    auth?: AuthContext;
  }
}
