/**
 * The rank-index contract: one suite over both implementations (memory always, Redis when REDIS_URL is
 * set, with a random key prefix per run). The "database" behind them is a plain map here, so every rebuild
 * and ordering rule is checked without Postgres; the HTTP suites check the real thing end to end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryRankIndex } from '../../src/modules/leaderboards/memory-rank-index.js';
import { RedisRankIndex } from '../../src/modules/leaderboards/redis-rank-index.js';
import type { BoardPeriod, RankIndex, RankSource } from '../../src/modules/leaderboards/rank-index.js';
import type { RankEntry } from '../../src/modules/leaderboards/rank-key.js';

const REDIS_URL = process.env.REDIS_URL;
const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

/** What Postgres would hold: board period key → player → live record. */
class FakeRecords {
  readonly boards = new Map<string, Map<string, RankEntry>>();
  reads = 0;
  private of(board: BoardPeriod) {
    const key = `${board.tenantId}/${board.projectId}/${board.boardUid}/${board.period}`;
    let records = this.boards.get(key);
    if (!records) this.boards.set(key, (records = new Map<string, RankEntry>()));
    return records;
  }
  put(board: BoardPeriod, entry: RankEntry) {
    this.of(board).set(entry.playerId, entry);
  }
  delete(board: BoardPeriod, playerId: string) {
    this.of(board).delete(playerId);
  }
  source: RankSource = async (board, afterPlayerId, limit) => {
    this.reads++;
    return [...this.of(board).values()]
      .filter((e) => afterPlayerId === null || BigInt(e.playerId) > BigInt(afterPlayerId))
      .sort((a, b) => (BigInt(a.playerId) < BigInt(b.playerId) ? -1 : 1))
      .slice(0, limit);
  };
}

/** The rank order of the contract, computed the slow, obvious way. */
function expectedOrder(entries: RankEntry[], descending: boolean): RankEntry[] {
  const sign = descending ? -1 : 1;
  return [...entries].sort((a, b) => {
    if (a.score !== b.score) return (a.score < b.score ? -1 : 1) * sign;
    if (a.subscore !== b.subscore) return (a.subscore < b.subscore ? -1 : 1) * sign;
    return a.seq < b.seq ? -1 : 1;
  });
}

interface Backend {
  name: string;
  /** A fresh index over `records`; Redis ones share the same keys (as nodes do). */
  create(records: FakeRecords): Promise<RankIndex>;
  /** Loses the index (Redis: deletes its keys; memory: a new process). */
  lose?(): Promise<void>;
}

let boardCounter = 0;
const newBoard = (descending = true, period = '0'): BoardPeriod => ({
  tenantId: String(1000 + ++boardCounter),
  projectId: '7',
  boardUid: String(++boardCounter),
  period,
  descending,
});

const e = (playerId: string, score: bigint, seq: bigint, subscore = 0n): RankEntry => ({ playerId, score, subscore, seq });
const players = (entries: { playerId: string }[]) => entries.map((x) => x.playerId);

function contract(backend: Backend): void {
  describe(`rank index contract: ${backend.name}`, () => {
    const opened: RankIndex[] = [];
    const open = async (records: FakeRecords) => {
      const index = await backend.create(records);
      opened.push(index);
      return index;
    };
    after(async () => {
      for (const index of opened) await index.close();
    });

    /** Writes a record to the fake database and the index, as a submit does. */
    async function submit(index: RankIndex, records: FakeRecords, board: BoardPeriod, entry: RankEntry) {
      records.put(board, entry);
      return index.upsert(board, entry);
    }

    it('an empty board has no entries, no ranks and empty pages', async () => {
      const index = await open(new FakeRecords());
      const board = newBoard();
      assert.equal(await index.size(board), 0);
      assert.equal(await index.rankOf(board, '1'), null);
      assert.deepEqual(await index.page(board, null, 10), []);
      assert.equal(await index.around(board, '1', 5), null);
    });

    it('orders by score, then subscore, in the board direction, then by who got there first (seq)', async () => {
      for (const descending of [true, false]) {
        const records = new FakeRecords();
        const index = await open(records);
        const board = newBoard(descending);
        const entries = [e('1', 10n, 5n), e('2', 20n, 6n), e('3', 10n, 3n), e('4', 10n, 9n, 1n), e('5', -3n, 1n), e('6', 10n, 4n)];
        for (const entry of entries) await submit(index, records, board, entry);
        const want = expectedOrder(entries, descending);
        const page = await index.page(board, null, 100);
        assert.deepEqual(players(page), players(want), descending ? 'desc' : 'asc');
        assert.deepEqual(page.map((x) => x.rank), [1, 2, 3, 4, 5, 6]);
        for (const [i, entry] of want.entries()) assert.equal((await index.rankOf(board, entry.playerId))?.rank, i + 1);
      }
    });

    it('keeps the 64-bit extremes exact and in order', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const board = newBoard(true);
      const entries = [e('1', MAX, 1n, MIN), e('2', MIN, 2n, MAX), e('3', MAX, 3n, MAX), e('4', 0n, 4n), e('5', MAX - 1n, 5n)];
      for (const entry of entries) await submit(index, records, board, entry);
      const page = await index.page(board, null, 10);
      assert.deepEqual(players(page), ['3', '1', '5', '4', '2']);
      assert.deepEqual(page.map((x) => [x.score, x.subscore]), [[MAX, MAX], [MAX, MIN], [MAX - 1n, 0n], [0n, 0n], [MIN, MAX]]);
    });

    it('returns the new rank on upsert and moves a player when its key changes', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const board = newBoard();
      await submit(index, records, board, e('1', 100n, 1n));
      assert.equal((await submit(index, records, board, e('2', 50n, 2n)))?.rank, 2);
      const moved = await submit(index, records, board, e('2', 150n, 3n));
      assert.deepEqual(moved, { ...e('2', 150n, 3n), rank: 1 });
      assert.equal(await index.size(board), 2);
    });

    it('ignores a write older than the version it holds (reordered writes leave no stale place)', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const board = newBoard();
      await submit(index, records, board, e('9', 1n, 1n));
      await index.upsert(board, e('1', 500n, 20n));
      const stale = await index.upsert(board, e('1', 10n, 10n));
      assert.deepEqual(stale, { ...e('1', 500n, 20n), rank: 1 }, 'the newer entry is kept and reported');
      assert.equal(await index.size(board), 2);
      // A removal is a tombstone: an older upsert arriving after it stays out; a newer one comes back.
      await index.remove(board, '1', 30n);
      assert.equal(await index.upsert(board, e('1', 999n, 25n)), null);
      assert.equal(await index.rankOf(board, '1'), null);
      assert.equal(await index.size(board), 1);
      await index.remove(board, '9', 0n); // older than what it holds: ignored
      assert.equal((await index.rankOf(board, '9'))?.rank, 1);
      assert.equal((await index.upsert(board, e('1', 999n, 31n)))?.rank, 1);
      assert.equal(await index.size(board), 2);
    });

    it('pages by cursor strictly after the last entry, even when that entry has since moved', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const board = newBoard();
      const entries = Array.from({ length: 25 }, (_, i) => e(String(i + 1), BigInt(i % 7), BigInt(i + 1)));
      for (const entry of entries) await submit(index, records, board, entry);
      const want = expectedOrder(entries, true);
      const seen: string[] = [];
      let cursor: RankEntry | null = null;
      for (;;) {
        const page = await index.page(board, cursor, 10);
        for (const [i, x] of page.entries()) assert.equal(x.rank, seen.length + i + 1);
        seen.push(...players(page));
        if (page.length < 10) break;
        cursor = page[page.length - 1]!;
      }
      assert.deepEqual(seen, players(want));
      // The cursor's own entry moves away: the page still starts right after where it was.
      const tenth = want[9]!;
      await index.upsert(board, { ...tenth, score: 1000n, seq: 100n });
      const next = await index.page(board, tenth, 3);
      assert.deepEqual(players(next), players(want.slice(10, 13)));
      assert.equal(next[0]!.rank, 11, 'ranks are current: the moved entry now counts above');
    });

    it('around: the player in the middle, one more above when even, shifted at the ends', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const board = newBoard();
      for (let i = 1; i <= 10; i++) await submit(index, records, board, e(String(i), BigInt(100 - i), BigInt(i))); // player i has rank i
      const ranksOf = async (player: string, limit: number) => (await index.around(board, player, limit))!.map((x) => x.rank);
      assert.deepEqual(await ranksOf('5', 5), [3, 4, 5, 6, 7]);
      assert.deepEqual(await ranksOf('5', 4), [3, 4, 5, 6]);
      assert.deepEqual(await ranksOf('1', 4), [1, 2, 3, 4]);
      assert.deepEqual(await ranksOf('10', 3), [8, 9, 10]);
      assert.deepEqual(await ranksOf('9', 4), [7, 8, 9, 10]);
      assert.deepEqual(await ranksOf('3', 50), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(await ranksOf('6', 1), [6]);
      assert.equal(await index.around(board, '11', 5), null);
    });

    it('keeps boards and periods apart, and drops every period of a deleted board', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const a = newBoard();
      const aNext = { ...a, period: '1700000000' };
      const b = { ...a, boardUid: String(++boardCounter) };
      const otherTenant = { ...a, tenantId: String(++boardCounter) };
      await submit(index, records, a, e('1', 5n, 1n));
      await submit(index, records, aNext, e('2', 5n, 2n));
      await submit(index, records, b, e('3', 5n, 3n));
      assert.deepEqual(players(await index.page(a, null, 10)), ['1']);
      assert.deepEqual(players(await index.page(aNext, null, 10)), ['2']);
      assert.deepEqual(players(await index.page(b, null, 10)), ['3']);
      assert.deepEqual(await index.page(otherTenant, null, 10), []);
      await index.dropBoard(a.tenantId, a.projectId, a.boardUid);
      records.delete(a, '1');
      records.delete(aNext, '2');
      assert.equal(await index.size(a), 0);
      assert.equal(await index.size(aNext), 0);
      assert.equal(await index.size(b), 1);
    });

    it('builds a missing index from the source once, and a rebuild gives the same ranks', async () => {
      const records = new FakeRecords();
      const board = newBoard(false);
      const entries = Array.from({ length: 2_500 }, (_, i) => e(String(i + 1), BigInt((i * 7919) % 301) - 150n, BigInt(i + 1), BigInt(i % 3)));
      for (const entry of entries) records.put(board, entry);
      const index = await open(records);
      const [size] = await Promise.all([index.size(board), index.rankOf(board, '1'), index.page(board, null, 5)]);
      assert.equal(size, entries.length);
      const before = await index.page(board, null, 100);
      assert.deepEqual(players(before), players(expectedOrder(entries, false).slice(0, 100)));
      await backend.lose?.();
      const again = await open(records);
      assert.deepEqual(await again.page(board, null, 100), before);
      assert.equal((await again.rankOf(board, '1234'))?.rank, (await index.rankOf(board, '1234'))?.rank);
    });

    it('matches the obvious order through many random writes and removals', async () => {
      const records = new FakeRecords();
      const index = await open(records);
      const board = newBoard();
      const live = new Map<string, RankEntry>();
      let seq = 0n;
      let seed = 42;
      const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
      for (let step = 0; step < 600; step++) {
        const player = String(1 + random(80));
        if (random(6) === 0 && live.has(player)) {
          live.delete(player);
          records.delete(board, player);
          await index.remove(board, player, ++seq);
        } else {
          const entry = e(player, BigInt(random(20)) - 10n, ++seq, BigInt(random(3)));
          live.set(player, entry);
          await submit(index, records, board, entry);
        }
      }
      const want = expectedOrder([...live.values()], true);
      assert.deepEqual(players(await index.page(board, null, 100)), players(want));
      assert.equal(await index.size(board), want.length);
    });
  });
}

contract({ name: 'memory', create: async (records) => new MemoryRankIndex({ source: records.source, batchSize: 1000 }) });

if (REDIS_URL) {
  const prefix = `ggscale-test-${randomBytes(6).toString('hex')}:`;
  const namespace = randomBytes(8).toString('hex');
  const admin = new Redis(REDIS_URL);
  const deleteAll = async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  };
  describe('redis rank index', () => {
    before(async () => undefined);
    after(async () => {
      await deleteAll();
      await admin.quit();
    });
    contract({
      name: 'redis',
      create: async (records) => {
        const index = new RedisRankIndex({ url: REDIS_URL, source: records.source, keyPrefix: prefix, namespace, batchSize: 1000 });
        assert.ok(await index.waitReady(2_000), 'redis reachable');
        return index;
      },
      lose: deleteAll,
    });

    it('an index that missed a committed write while Redis was unreachable is rebuilt, not trusted', async () => {
      const records = new FakeRecords();
      const board = newBoard();
      const node = new RedisRankIndex({ url: REDIS_URL, source: records.source, keyPrefix: prefix, namespace });
      const client = (node as unknown as { client: Redis }).client;
      try {
        assert.ok(await node.waitReady(2_000));
        for (let i = 1; i <= 5; i++) {
          records.put(board, e(String(i), BigInt(i), BigInt(i)));
          await node.upsert(board, e(String(i), BigInt(i), BigInt(i)));
        }
        const ended = new Promise((resolve) => client.once('end', resolve));
        client.disconnect();
        await ended;
        records.put(board, e('9', 100n, 10n)); // committed in "Postgres"...
        await assert.rejects(node.upsert(board, e('9', 100n, 10n)), { status: 503 }); // ...but not in the index
        await client.connect();
        assert.equal((await node.rankOf(board, '9'))?.rank, 1, 'rebuilt with the missed write');
        assert.equal(await node.size(board), 6);
      } finally {
        await node.close();
      }
    });

    it('two nodes building the same missing index at once share one build', async () => {
      const records = new FakeRecords();
      const board = newBoard();
      for (let i = 1; i <= 3000; i++) records.put(board, e(String(i), BigInt(i % 50), BigInt(i)));
      const nodes = [0, 1, 2].map(() => new RedisRankIndex({ url: REDIS_URL, source: records.source, keyPrefix: prefix, namespace, batchSize: 500 }));
      try {
        for (const node of nodes) assert.ok(await node.waitReady(2_000));
        const ranks = await Promise.all(nodes.map((node) => node.rankOf(board, '49')));
        assert.deepEqual(new Set(ranks.map((r) => r?.rank)).size, 1);
        assert.equal(records.reads, 7, 'one keyset scan of 3000 records in batches of 500');
      } finally {
        for (const node of nodes) await node.close();
      }
    });
  });
}
