/**
 * Board settings as the score routes need them, cached per node for a short time: settings are fixed once
 * created, and every statement that writes or reads records also checks that the board is still alive, so
 * a stale entry (a board deleted or recreated on another node) is noticed and refreshed, never trusted.
 */
import { LRUCache } from 'lru-cache';
import { notFound, validation } from '../../internal/errors/app-error.js';
import { lruClock } from '../../internal/lru-clock.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { Board, BoardStore } from './board-store.js';
import type { BoardPeriod } from './rank-index.js';
import { ResetSchedule, UNSCHEDULED } from './schedule.js';

export type PeriodChoice = 'current' | 'previous';

export interface KnownBoard {
  board: Board;
  schedule: ResetSchedule | null;
  /** When this node looked it up. */
  loadedAt: number;
}

const MAX_CACHED = 10_000;

export class BoardDirectory {
  /** Expired entries stay until replaced or evicted: a reload of the same board keeps their parsed schedule. */
  private readonly cache: LRUCache<string, KnownBoard>;

  constructor(
    private readonly boards: BoardStore,
    private readonly ttlMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.cache = new LRUCache({ max: MAX_CACHED, perf: lruClock(now), ttlResolution: 0, noDeleteOnStaleGet: true });
  }

  private keyOf(scope: ProjectScope, id: string): string {
    return `${scope.tenantId}:${scope.projectId}:${id}`;
  }

  /** The live board, or 404. `fresh` skips the cache (after a statement found the cached board dead). */
  async get(scope: ProjectScope, id: string, fresh = false): Promise<KnownBoard> {
    const key = this.keyOf(scope, id);
    const cached = fresh ? undefined : this.cache.get(key);
    if (cached) return cached;
    const board = await this.boards.get(scope, id);
    if (!board) {
      this.cache.delete(key);
      throw notFound(`No leaderboard "${id}".`);
    }
    // Settings are fixed: keep the parsed schedule (and its period cache) when the board is the same one.
    const previous = this.cache.peek(key, { allowStale: true });
    const schedule = previous?.board.uid === board.uid ? previous.schedule : board.resetCron ? new ResetSchedule(board.resetCron) : null;
    const known = { board, schedule, loadedAt: this.now() };
    // lru-cache reads a ttl of 0 as "forever": with caching off, nothing is kept.
    if (this.ttlMs > 0) this.cache.set(key, known, { ttl: this.ttlMs });
    return known;
  }

  /**
   * After a statement found `known` dead or empty: a fresh lookup, which throws 404 when the board is gone.
   * The board under that id when it is another one (recreated), else null.
   */
  async refresh(scope: ProjectScope, known: KnownBoard): Promise<KnownBoard | null> {
    const again = await this.get(scope, known.board.id, true);
    return again.board.uid === known.board.uid ? null : again;
  }

  forget(scope: ProjectScope, id: string): void {
    this.cache.delete(this.keyOf(scope, id));
  }

  /** The rank-index name of a board's current or previous period. */
  periodOf(scope: ProjectScope, known: KnownBoard, choice: PeriodChoice): BoardPeriod {
    const periods = known.schedule ? known.schedule.periodsAt(this.now()) : UNSCHEDULED;
    if (choice === 'previous' && periods.previous === null) {
      throw validation('This leaderboard has no reset_cron, so it has no previous period.');
    }
    return {
      tenantId: scope.tenantId,
      projectId: scope.projectId,
      boardUid: known.board.uid,
      descending: known.board.sort === 'desc',
      period: choice === 'current' ? periods.current : periods.previous!,
      // The previous period stops being readable when the current one ends.
      retiredAtMs: choice === 'current' ? periods.retiredAtMs : periods.endsAtMs,
    };
  }
}
