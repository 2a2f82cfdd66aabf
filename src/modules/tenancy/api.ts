/** What the tenancy module offers the others (the only file of this folder another module may import). */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Queryable } from '../../internal/db/database.js';
import type { ProjectSettings } from './project-settings.js';

export type { ProjectSettings } from './project-settings.js';
export { hashApiKey, looksLikeApiKey } from './api-key-format.js';

/** A project's settings on the request path: at once when this node holds them, else loaded. */
export interface ProjectSettingsSource {
  current(scope: ProjectScope): ProjectSettings | Promise<ProjectSettings>;
  /** Inside a transaction of the same project, pass its `tx`: a miss is then read through it. */
  get(scope: ProjectScope, tx?: Queryable): Promise<ProjectSettings>;
}

/** A credential the operator took away: what auth must stop trusting at once, on every node. */
export type CredentialRevocation = { type: 'key'; id: string } | { type: 'player'; id: string; projectId: string };

export interface TenancyApi {
  settings: ProjectSettingsSource;
  /** Whether any project allows this origin (a CORS preflight carries no credential to tie it to one). */
  anyProjectAllowsOrigin(origin: string): Promise<boolean>;
  /** The tenant a project belongs to, for other modules' operator routes; 404 problem when there is none. */
  projectScope(projectId: string): Promise<ProjectScope>;
  /** Hears every API key revoked and player banned; the operator's answer waits for every listener. */
  onRevoked(listener: (event: CredentialRevocation) => Promise<void>): void;
}

declare module '../contract.js' {
  interface Provisions {
    tenancy: TenancyApi;
  }
}
