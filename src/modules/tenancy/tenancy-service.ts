/**
 * The operator's work: tenants, projects and their settings, API keys, bans. Cross-tenant by nature, so
 * it runs on the separately named operator path; every action is logged with actor, action and target
 * (never a key).
 */
import type { Database, Queryable } from '../../internal/db/database.js';
import { isUniqueViolation } from '../../internal/db/errors.js';
import { conflict, notFound } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { CredentialRevocation } from './api.js';
import { generateApiKey, type ApiKeyKind } from './api-key-format.js';
import { mergeSettings, normaliseSettings, type ProjectSettings, type ProjectSettingsPatch } from './project-settings.js';

export interface TenantView {
  id: string;
  name: string;
  created_at: string;
}
export interface ProjectView {
  id: string;
  tenant_id: string;
  name: string;
  settings: ProjectSettings;
  created_at: string;
}
export interface ApiKeyView {
  id: string;
  kind: ApiKeyKind;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const iso = (value: unknown): string => new Date(value as string).toISOString();
const isoOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value));

export interface Actor {
  actor: string;
  ip: string;
}

export class TenancyService {
  constructor(
    private readonly db: Database,
    /** Tells auth (on every node) to stop trusting a revoked credential; awaited before the answer. */
    private readonly revoked: (event: CredentialRevocation) => Promise<void>,
    private readonly logger: Logger,
    private readonly onProjectChanged: (projectId: string) => void = () => undefined,
  ) {}

  private audit(who: Actor, action: string, target: string, extra: Record<string, unknown> = {}): void {
    this.logger.info({ audit: true, actor: who.actor, ip: who.ip, action, target, ...extra }, 'operator action');
  }

  private op<T>(action: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.operator(action, fn);
  }

  async createTenant(who: Actor, name: string): Promise<TenantView> {
    try {
      const [row] = await this.op('tenant.create', (tx) =>
        tx.query<{ id: string; name: string; created_at: Date }>('insert into tenants (name) values ($1) returning id, name, created_at', [name]),
      );
      this.audit(who, 'tenant.create', `tenant:${row!.id}`);
      return { id: String(row!.id), name: row!.name, created_at: iso(row!.created_at) };
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`A tenant named "${name}" already exists.`);
      throw error;
    }
  }

  async listTenants(limit: number, after: string | undefined): Promise<{ items: TenantView[]; next: string | undefined }> {
    const rows = await this.op('tenant.list', (tx) =>
      tx.query<{ id: string; name: string; created_at: Date }>(
        'select id, name, created_at from tenants where id > $1 order by id limit $2',
        [after ?? '0', limit + 1],
      ),
    );
    const items = rows.slice(0, limit).map((r) => ({ id: String(r.id), name: r.name, created_at: iso(r.created_at) }));
    return { items, next: rows.length > limit ? items.at(-1)!.id : undefined };
  }

  async createProject(who: Actor, tenantId: string, name: string): Promise<ProjectView> {
    try {
      const row = await this.op('project.create', async (tx) => {
        const [tenant] = await tx.query('select 1 from tenants where id = $1', [tenantId]);
        if (!tenant) throw notFound('The tenant does not exist.');
        const [created] = await tx.query<{ id: string; tenant_id: string; name: string; settings: unknown; created_at: Date }>(
          'insert into projects (tenant_id, name) values ($1, $2) returning id, tenant_id, name, settings, created_at',
          [tenantId, name],
        );
        return created!;
      });
      this.audit(who, 'project.create', `project:${row.id}`, { tenant_id: tenantId });
      return this.projectView(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`The tenant already has a project named "${name}".`);
      throw error;
    }
  }

  private projectView(row: { id: string; tenant_id: string; name: string; settings: unknown; created_at: Date }): ProjectView {
    return { id: String(row.id), tenant_id: String(row.tenant_id), name: row.name, settings: normaliseSettings(row.settings), created_at: iso(row.created_at) };
  }

  async listProjects(tenantId: string): Promise<ProjectView[]> {
    const rows = await this.op('project.list', async (tx) => {
      const [tenant] = await tx.query('select 1 from tenants where id = $1', [tenantId]);
      if (!tenant) throw notFound('The tenant does not exist.');
      return tx.query<{ id: string; tenant_id: string; name: string; settings: unknown; created_at: Date }>(
        'select id, tenant_id, name, settings, created_at from projects where tenant_id = $1 order by id limit 1000',
        [tenantId],
      );
    });
    return rows.map((row) => this.projectView(row));
  }

  /** The project's tenant, or 404. */
  async projectScope(projectId: string): Promise<{ tenantId: string; projectId: string }> {
    const [row] = await this.op('project.scope', (tx) => tx.query<{ tenant_id: string }>('select tenant_id from projects where id = $1', [projectId]));
    if (!row) throw notFound('The project does not exist.');
    return { tenantId: String(row.tenant_id), projectId };
  }

  async updateProject(who: Actor, projectId: string, patch: ProjectSettingsPatch): Promise<ProjectView> {
    const row = await this.op('project.update', async (tx) => {
      const [current] = await tx.query<{ settings: unknown }>('select settings from projects where id = $1 for update', [projectId]);
      if (!current) throw notFound('The project does not exist.');
      const settings = mergeSettings(normaliseSettings(current.settings), patch);
      const [updated] = await tx.query<{ id: string; tenant_id: string; name: string; settings: unknown; created_at: Date }>(
        'update projects set settings = $2::text::jsonb where id = $1 returning id, tenant_id, name, settings, created_at',
        [projectId, JSON.stringify(settings)],
      );
      return updated!;
    });
    this.audit(who, 'project.update', `project:${projectId}`, { fields: Object.keys(patch) });
    this.onProjectChanged(projectId);
    return this.projectView(row);
  }

  async createApiKey(who: Actor, projectId: string, kind: ApiKeyKind, name: string): Promise<ApiKeyView & { key: string }> {
    const scope = await this.projectScope(projectId);
    const { key, hash, prefix } = generateApiKey(kind);
    const [row] = await this.op('api_key.create', (tx) =>
      tx.query<{ id: string; created_at: Date }>(
        'insert into api_keys (tenant_id, project_id, kind, name, key_hash, prefix) values ($1, $2, $3, $4, $5, $6) returning id, created_at',
        [scope.tenantId, projectId, kind, name, hash, prefix],
      ),
    );
    this.audit(who, 'api_key.create', `api_key:${row!.id}`, { project_id: projectId, kind, prefix });
    return { id: String(row!.id), kind, name, prefix, key, created_at: iso(row!.created_at), last_used_at: null, revoked_at: null };
  }

  async listApiKeys(projectId: string): Promise<ApiKeyView[]> {
    await this.projectScope(projectId);
    const rows = await this.op('api_key.list', (tx) =>
      tx.query<{ id: string; kind: ApiKeyKind; name: string; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>(
        'select id, kind, name, prefix, created_at, last_used_at, revoked_at from api_keys where project_id = $1 order by id limit 1000',
        [projectId],
      ),
    );
    return rows.map((r) => ({
      id: String(r.id),
      kind: r.kind,
      name: r.name,
      prefix: r.prefix,
      created_at: iso(r.created_at),
      last_used_at: isoOrNull(r.last_used_at),
      revoked_at: isoOrNull(r.revoked_at),
    }));
  }

  async revokeApiKey(who: Actor, keyId: string): Promise<void> {
    const rows = await this.op('api_key.revoke', (tx) =>
      tx.query('update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning id', [keyId]),
    );
    if (rows.length === 0) throw notFound('The API key does not exist.');
    await this.revoked({ type: 'key', id: keyId });
    this.audit(who, 'api_key.revoke', `api_key:${keyId}`);
  }

  async setBan(who: Actor, projectId: string, playerId: string, banned: boolean): Promise<void> {
    const rows = await this.op(banned ? 'player.ban' : 'player.unban', (tx) =>
      tx.query(
        `update players set banned_at = ${banned ? 'coalesce(banned_at, now())' : 'null'} where project_id = $1 and id = $2 returning id`,
        [projectId, playerId],
      ),
    );
    if (rows.length === 0) throw notFound('The player does not exist in this project.');
    if (banned) await this.revoked({ type: 'player', id: playerId, projectId });
    this.audit(who, banned ? 'player.ban' : 'player.unban', `player:${playerId}`, { project_id: projectId });
  }
}
