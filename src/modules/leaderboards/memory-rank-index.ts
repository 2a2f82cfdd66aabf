/**
 * The in-process rank index (CACHE_BACKEND=memory): per board period an order-statistic B+tree of sort keys
 * and a player → current key table, both in typed arrays. Single node: another node builds its own copy
 * from Postgres, so ranks agree across nodes once both have seen the same writes.
 *
 * JavaScript runs one operation at a time, so each call below is atomic; versions still matter because two
 * requests' index updates can arrive in another order than Postgres applied them.
 */
import { KEY_WORDS, OrderStatisticTree } from './order-statistic-tree.js';
import { aroundWindow, boardKey, periodKey, type BoardPeriod, type RankIndex, type RankSource } from './rank-index.js';
import { fromOrdered, toOrdered, type RankEntry, type RankedEntry } from './rank-key.js';

const MASK32 = 0xffffffffn;

function putU64(words: Uint32Array, at: number, value: bigint): void {
  words[at] = Number(value >> 32n);
  words[at + 1] = Number(value & MASK32);
}

const getU64 = (words: Uint32Array, at: number): bigint => (BigInt(words[at]!) << 32n) | BigInt(words[at + 1]!);

function encode(entry: RankEntry, descending: boolean, into = new Uint32Array(KEY_WORDS)): Uint32Array {
  putU64(into, 0, toOrdered(entry.score, descending));
  putU64(into, 2, toOrdered(entry.subscore, descending));
  putU64(into, 4, entry.seq);
  putU64(into, 6, BigInt(entry.playerId));
  return into;
}

function decode(words: Uint32Array, at: number, descending: boolean): RankEntry {
  return {
    score: fromOrdered(getU64(words, at), descending),
    subscore: fromOrdered(getU64(words, at + 2), descending),
    seq: getU64(words, at + 4),
    playerId: getU64(words, at + 6).toString(),
  };
}

/** Compares the seq words (the version) of two keys. */
function compareVersion(a: Uint32Array, ao: number, b: Uint32Array, bo: number): number {
  for (let w = 4; w < 6; w++) if (a[ao + w] !== b[bo + w]) return a[ao + w]! < b[bo + w]! ? -1 : 1;
  return 0;
}

/**
 * Player → slot in a slab of keys. Small ids are number keys (no allocation per entry); V8 Maps hold at most
 * 2^24 entries, so players are spread over several maps.
 */
class PlayerSlots {
  private readonly maps = Array.from({ length: 16 }, () => new Map<number | string, number>());
  keys = new Uint32Array(1024 * KEY_WORDS);
  removed = new Uint8Array(1024);
  private used = 0;

  private mapOf(playerId: string): [Map<number | string, number>, number | string] {
    if (playerId.length <= 15) {
      const id = Number(playerId);
      return [this.maps[id % 16]!, id];
    }
    return [this.maps[Number(playerId.slice(-2)) % 16]!, playerId];
  }

  get(playerId: string): number | undefined {
    const [map, id] = this.mapOf(playerId);
    return map.get(id);
  }

  add(playerId: string): number {
    if (this.used === this.removed.length) {
      const keys = new Uint32Array(this.keys.length * 2);
      keys.set(this.keys);
      this.keys = keys;
      const removed = new Uint8Array(this.removed.length * 2);
      removed.set(this.removed);
      this.removed = removed;
    }
    const slot = this.used++;
    const [map, id] = this.mapOf(playerId);
    map.set(id, slot);
    return slot;
  }
}

class BoardIndex {
  readonly tree = new OrderStatisticTree();
  readonly players = new PlayerSlots();
  ready: Promise<void> | undefined;

  constructor(
    readonly board: BoardPeriod,
    readonly key: string,
  ) {}

  /** Applies a versioned write; the player's slot afterwards (removed or not). */
  apply(entry: RankEntry, removal: boolean): number {
    const key = encode(entry, this.board.descending);
    const players = this.players;
    let slot = players.get(entry.playerId);
    if (slot !== undefined) {
      if (compareVersion(players.keys, slot * KEY_WORDS, key, 0) >= 0) return slot; // stale write
      if (!players.removed[slot]) this.tree.remove(players.keys.subarray(slot * KEY_WORDS, (slot + 1) * KEY_WORDS));
    } else {
      slot = players.add(entry.playerId);
    }
    players.keys.set(key, slot * KEY_WORDS);
    players.removed[slot] = removal ? 1 : 0;
    if (!removal) this.tree.insert(key);
    return slot;
  }

  ranked(slot: number | undefined): RankedEntry | null {
    if (slot === undefined || this.players.removed[slot]) return null;
    const key = this.players.keys.subarray(slot * KEY_WORDS, (slot + 1) * KEY_WORDS);
    return { ...decode(key, 0, this.board.descending), rank: this.tree.rank(key) + 1 };
  }

  range(start: number, count: number): RankedEntry[] {
    const entries: RankedEntry[] = [];
    this.tree.forEach(start, count, (keys, offset, rank) => entries.push({ ...decode(keys, offset, this.board.descending), rank: rank + 1 }));
    return entries;
  }
}

export interface MemoryRankIndexOptions {
  source: RankSource;
  /** Records read per query while building (default 10,000). */
  batchSize?: number;
  now?: () => number;
}

export class MemoryRankIndex implements RankIndex {
  readonly kind = 'memory';
  private readonly indexes = new Map<string, BoardIndex>();
  /** boardKey → the period keys held for that board, so old periods and deleted boards can be dropped. */
  private readonly periodsOfBoard = new Map<string, Set<string>>();
  private readonly batchSize: number;
  private readonly now: () => number;

  constructor(private readonly options: MemoryRankIndexOptions) {
    this.batchSize = options.batchSize ?? 10_000;
    this.now = options.now ?? (() => Date.now());
  }

  async upsert(board: BoardPeriod, entry: RankEntry): Promise<RankedEntry | null> {
    const index = await this.ensure(board);
    return index.ranked(index.apply(entry, false));
  }

  async remove(board: BoardPeriod, playerId: string, seq: bigint): Promise<void> {
    const index = await this.ensure(board);
    index.apply({ playerId, seq, score: 0n, subscore: 0n }, true);
  }

  async rankOf(board: BoardPeriod, playerId: string): Promise<RankedEntry | null> {
    const index = await this.ensure(board);
    return index.ranked(index.players.get(playerId));
  }

  async page(board: BoardPeriod, after: RankEntry | null, limit: number): Promise<RankedEntry[]> {
    const index = await this.ensure(board);
    // rank() counts the keys smaller than `after`; `after` itself is skipped when it is still there.
    const start = after ? index.tree.rank(encode(after, board.descending)) : 0;
    const first = after ? index.range(start, 1)[0] : undefined;
    const skip = after && first && first.seq === after.seq && first.playerId === after.playerId ? 1 : 0;
    return index.range(start + skip, limit);
  }

  async around(board: BoardPeriod, playerId: string, limit: number): Promise<RankedEntry[] | null> {
    const index = await this.ensure(board);
    const own = index.ranked(index.players.get(playerId));
    if (!own) return null;
    const { start, count } = aroundWindow(own.rank - 1, index.tree.size, limit);
    return index.range(start, count);
  }

  async size(board: BoardPeriod): Promise<number> {
    return (await this.ensure(board)).tree.size;
  }

  async dropBoard(tenantId: string, projectId: string, boardUid: string): Promise<void> {
    const owner = boardKey({ tenantId, projectId, boardUid });
    for (const key of this.periodsOfBoard.get(owner) ?? []) this.indexes.delete(key);
    this.periodsOfBoard.delete(owner);
  }

  async close(): Promise<void> {
    this.indexes.clear();
    this.periodsOfBoard.clear();
  }

  /** The board period's index, built from Postgres on first use (concurrent callers share one build). */
  private async ensure(board: BoardPeriod): Promise<BoardIndex> {
    const key = periodKey(board);
    let index = this.indexes.get(key);
    if (!index) {
      index = new BoardIndex(board, key);
      this.indexes.set(key, index);
      this.track(board, key);
      index.ready = this.build(index);
    }
    if (index.ready) await index.ready;
    return index;
  }

  private async build(index: BoardIndex): Promise<void> {
    try {
      let after: string | null = null;
      for (;;) {
        const batch = await this.options.source(index.board, after, this.batchSize);
        for (const entry of batch) index.apply(entry, false);
        if (batch.length < this.batchSize) break;
        after = batch[batch.length - 1]!.playerId;
      }
      index.ready = undefined;
    } catch (error) {
      // The next caller tries again from scratch.
      if (this.indexes.get(index.key) === index) this.indexes.delete(index.key);
      throw error;
    }
  }

  /** Remembers the period under its board, dropping periods of that board that can no longer be read. */
  private track(board: BoardPeriod, key: string): void {
    const owner = boardKey(board);
    let periods = this.periodsOfBoard.get(owner);
    if (!periods) this.periodsOfBoard.set(owner, (periods = new Set()));
    periods.add(key);
    const now = this.now();
    for (const other of periods) {
      const retiredAt = this.indexes.get(other)?.board.retiredAtMs;
      if (other !== key && retiredAt !== undefined && retiredAt !== null && retiredAt <= now) {
        this.indexes.delete(other);
        periods.delete(other);
      }
    }
  }
}
