/**
 * The players each local player has blocked, kept in memory so the event filter (synchronous, per receiving
 * session) can drop a blocked sender's live room and party messages. A list is loaded when its player joins
 * or resumes, refreshed at once after a change between two players (social's listener on the node where it
 * happened, and social's relation signal on the nodes holding either player's sessions), and in any
 * case re-read in the background once older than REFRESH_MS. Background re-reads run a few at a time
 * (BACKGROUND_READS): a room of a thousand members must not put a thousand queries in the pool at once.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { SocialApi } from '../social/api.js';

/** The longest a list is used before it is read again (a missed refresh heals within it). */
export const REFRESH_MS = 5_000;
/** Background re-reads in flight at once on this node; the others wait their turn. */
const BACKGROUND_READS = 4;

interface Entry {
  blocked: ReadonlySet<string>;
  loadedAt: number;
  loading: Promise<void> | undefined;
}

const keyOf = (scope: ProjectScope, playerId: string) => `${scope.tenantId}:${scope.projectId}:${playerId}`;

export class BlockLists {
  private readonly entries = new Map<string, Entry>();
  /** Background re-reads waiting for a turn, by player key (each queued once). */
  private readonly waiting = new Map<string, () => Promise<void>>();
  private reading = 0;

  constructor(
    private readonly social: Pick<SocialApi, 'blockedBy'>,
    private readonly logger: Logger,
  ) {}

  /** Loads (or re-reads) the player's list; resolves once it is current. */
  async load(scope: ProjectScope, playerId: string): Promise<void> {
    const key = keyOf(scope, playerId);
    const entry = this.entries.get(key) ?? { blocked: new Set<string>(), loadedAt: 0, loading: undefined };
    this.entries.set(key, entry);
    const loading = this.social.blockedBy(scope, playerId).then((ids) => {
      entry.blocked = new Set(ids);
      entry.loadedAt = Date.now();
    });
    entry.loading = loading;
    try {
      await loading;
    } finally {
      if (entry.loading === loading) entry.loading = undefined;
    }
  }

  /** Whether the player blocked `other`, by the list in memory (refreshed in the background when old). */
  blocks(scope: ProjectScope, playerId: string, other: string): boolean {
    const entry = this.entries.get(keyOf(scope, playerId));
    if (!entry || (Date.now() - entry.loadedAt > REFRESH_MS && !entry.loading)) this.refresh(scope, playerId);
    return entry?.blocked.has(other) ?? false;
  }

  /** Re-reads a player's list in the background (`onlyKept`: only if the node keeps one for it). */
  refresh(scope: ProjectScope, playerId: string, onlyKept = false): void {
    const key = keyOf(scope, playerId);
    if (this.waiting.has(key)) return;
    this.waiting.set(key, () => this.reload(scope, playerId, onlyKept));
    this.drain();
  }

  private drain(): void {
    while (this.reading < BACKGROUND_READS && this.waiting.size > 0) {
      const [key, read] = this.waiting.entries().next().value as [string, () => Promise<void>];
      this.waiting.delete(key);
      this.reading++;
      void read().finally(() => {
        this.reading--;
        this.drain();
      });
    }
  }

  /** Re-reads a player's list (`onlyKept`: only if the node keeps one); a failure is logged. */
  async reload(scope: ProjectScope, playerId: string, onlyKept: boolean): Promise<void> {
    if (onlyKept && !this.entries.has(keyOf(scope, playerId))) return;
    await this.load(scope, playerId).catch((error: unknown) => this.logger.warn({ err: error }, 'chat: could not read a block list'));
  }

  /** The node no longer holds a session of this player in a channel. */
  drop(scope: ProjectScope, playerId: string): void {
    this.entries.delete(keyOf(scope, playerId));
    this.waiting.delete(keyOf(scope, playerId));
  }
}
