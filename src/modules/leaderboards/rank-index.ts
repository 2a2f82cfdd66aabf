/**
 * The rank index: a derived, rebuildable view of one board period's records in rank order (Postgres stays
 * the source of truth). Two implementations pass one contract suite (test/leaderboards/rank-index.test.ts):
 *
 * - memory: an order-statistic B+tree per board period, in this process (single node; the default with
 *   CACHE_BACKEND=memory). Each node builds its own from Postgres, so ranks agree across nodes.
 * - redis: one sorted set per board period shared by all nodes (CACHE_BACKEND=redis).
 *
 * Every write carries the record's version (its seq): a write older than what the index holds for that
 * player is ignored, and removals leave a tombstone at their version, so two writes applied out of order
 * (two requests, two nodes) never leave a stale place behind. An index that is missing (never built on this
 * node, Redis keys evicted or deleted) is rebuilt from Postgres on first use, by a keyset scan in batches.
 */
import type { RankEntry, RankedEntry } from './rank-key.js';

export type { RankEntry, RankedEntry } from './rank-key.js';

/** One board period, named from the authenticated context and the board's surrogate uid. */
export interface BoardPeriod {
  tenantId: string;
  projectId: string;
  /** The board's surrogate id: a recreated board has a new one, so it starts empty everywhere. */
  boardUid: string;
  /** '0' without a schedule, else the epoch second the period began. */
  period: string;
  descending: boolean;
  /** When this period can no longer be read (epoch ms); an index may be dropped after it. */
  retiredAtMs?: number | null;
}

/**
 * Reads a board period's live records from Postgres, in player-id order after `afterPlayerId` (keyset scan),
 * at most `limit` of them. The rebuild calls it until it returns fewer than `limit`.
 */
export type RankSource = (board: BoardPeriod, afterPlayerId: string | null, limit: number) => Promise<RankEntry[]>;

export interface RankIndex {
  readonly kind: 'memory' | 'redis';

  /**
   * Records a player's place (ignored when the index already holds a newer version for that player) and
   * returns the player's current entry with its rank — the newer one when this write was stale — or null
   * when the player's newest version is a removal.
   */
  upsert(board: BoardPeriod, entry: RankEntry): Promise<RankedEntry | null>;

  /** Removes a player's record as of version `seq` (a tombstone: older upserts stay ignored). */
  remove(board: BoardPeriod, playerId: string, seq: bigint): Promise<void>;

  rankOf(board: BoardPeriod, playerId: string): Promise<RankedEntry | null>;

  /** Up to `limit` entries in rank order, strictly after `after` (a previous page's last entry) or from the top. */
  page(board: BoardPeriod, after: RankEntry | null, limit: number): Promise<RankedEntry[]>;

  /**
   * `limit` entries with the player in the middle (one more above than below when `limit` is even),
   * shifted at the ends of the board; null when the player has no entry.
   */
  around(board: BoardPeriod, playerId: string, limit: number): Promise<RankedEntry[] | null>;

  /** How many entries the board period holds. */
  size(board: BoardPeriod): Promise<number>;

  /** Forgets every period of a deleted board. */
  dropBoard(tenantId: string, projectId: string, boardUid: string): Promise<void>;

  close(): Promise<void>;
}

/** The window of `around`: start index (0-based) of `limit` entries centred on `position` in `total`. */
export function aroundWindow(position: number, total: number, limit: number): { start: number; count: number } {
  const above = Math.floor(limit / 2);
  const start = Math.max(0, Math.min(position - above, total - limit));
  return { start, count: Math.min(limit, total) };
}

/** The key every index uses for a board period (a Redis Cluster hash tag per tenant). */
export function boardKey(board: Pick<BoardPeriod, 'tenantId' | 'projectId' | 'boardUid'>): string {
  return `{${board.tenantId}}:${board.projectId}:lb:${board.boardUid}`;
}

export function periodKey(board: BoardPeriod): string {
  return `${boardKey(board)}:${board.period}`;
}
