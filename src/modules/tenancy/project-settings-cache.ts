/**
 * Project settings on the request path (limit overrides, CORS origins), read inside the project's own
 * scope and cached for a few seconds; operator changes invalidate them on every node.
 */
import { LRUCache } from 'lru-cache';
import type { Database, Queryable } from '../../internal/db/database.js';
import type { CacheBackend } from '../../internal/cache/cache.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { normaliseSettings, type ProjectSettings } from './project-settings.js';

/** Carries the id of a project whose settings changed, to every node. */
export const SETTINGS_CHANNEL = 'project-settings';

export class ProjectSettingsCache {
  // ttlResolution 0: read the clock on each lookup rather than start a timer to cache its reading.
  private readonly entries = new LRUCache<string, ProjectSettings>({ max: 50_000, ttlResolution: 0 });

  constructor(
    private readonly db: Database,
    private readonly cache: CacheBackend,
    private readonly ttlMs: number,
  ) {}

  async start(): Promise<void> {
    this.cache.onResubscribe(() => this.entries.clear());
    await this.cache.subscribe(SETTINGS_CHANNEL, (projectId) => this.entries.delete(projectId));
  }

  /** The settings: at once when this node holds them (the hot path needs no promise then), else loaded. */
  current(scope: ProjectScope): ProjectSettings | Promise<ProjectSettings> {
    return this.entries.get(scope.projectId) ?? this.load(scope);
  }

  /**
   * Inside a transaction, pass its `tx`: a miss is read through it (the embedded database's one session is held
   * by that transaction, so a read of its own would wait for itself; on PostgreSQL it saves a connection).
   */
  async get(scope: ProjectScope, tx?: Queryable): Promise<ProjectSettings> {
    return this.entries.get(scope.projectId) ?? this.load(scope, tx);
  }

  private async load(scope: ProjectScope, tx?: Queryable): Promise<ProjectSettings> {
    const sql = 'select settings from projects where id = $1';
    const [row] = tx ? await tx.query<{ settings: unknown }>(sql, [scope.projectId]) : await this.db.tenantQuery<{ settings: unknown }>(scope, sql, [scope.projectId]);
    const settings = normaliseSettings(row?.settings);
    // lru-cache reads a ttl of 0 as "forever": with caching off, nothing is kept.
    if (this.ttlMs > 0) this.entries.set(scope.projectId, settings, { ttl: this.ttlMs });
    return settings;
  }

  changed(projectId: string): void {
    this.entries.delete(projectId);
    this.cache.publish(SETTINGS_CHANNEL, projectId).catch(() => undefined);
  }
}
