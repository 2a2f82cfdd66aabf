/**
 * Every origin that some project allows (its settings' cors_origins). A CORS preflight carries no
 * credential, so it cannot be tied to a project: it is allowed when any project lists its origin, and the
 * actual answer is then allowed only for the authenticated project's own origins (src/http/cors.ts).
 * Read on the operator path (it spans every tenant), kept in memory, and read again after any project's
 * settings change on any node (the settings channel) or after `maxAgeMs` at the latest.
 */
import type { CacheBackend } from '../../internal/cache/cache.js';
import type { Database } from '../../internal/db/database.js';
import { SETTINGS_CHANNEL } from './project-settings-cache.js';

export class ProjectOrigins {
  private origins = new Set<string>();
  private loadedAt = -Infinity;
  /** Bumped by every change; a load that began before the latest change does not count as fresh. */
  private generation = 0;
  private loadedGeneration = -1;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly cache: CacheBackend,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async start(): Promise<void> {
    this.cache.onResubscribe(() => this.changed());
    await this.cache.subscribe(SETTINGS_CHANNEL, () => this.changed());
  }

  changed(): void {
    this.generation++;
  }

  async allows(origin: string): Promise<boolean> {
    if (this.loadedGeneration !== this.generation || this.now() - this.loadedAt > this.maxAgeMs) await this.load();
    return this.origins.has(origin);
  }

  /** One read at a time; callers arriving meanwhile share it. */
  private load(): Promise<void> {
    this.loading ??= (async () => {
      const generation = this.generation;
      const startedAt = this.now();
      try {
        const rows = await this.db.operator('cors.origins', (tx) =>
          tx.query<{ origin: string }>(
            "select distinct origin from projects, jsonb_array_elements_text(coalesce(settings -> 'cors_origins', '[]'::jsonb)) as origin",
          ),
        );
        this.origins = new Set(rows.map((row) => row.origin));
        this.loadedAt = startedAt;
        this.loadedGeneration = generation;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
