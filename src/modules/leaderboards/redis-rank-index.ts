/**
 * The Redis rank index (CACHE_BACKEND=redis): one sorted set per board period, shared by every node, kept
 * by the Lua scripts of redis-rank-scripts.ts (one atomic round trip per operation), which touch only the keys
 * they are given. Keys are in the deployment's keyspace (src/internal/cache/keyspace.ts) and built from the
 * authenticated context and the board's surrogate uid: `<root><namespace>:{tenant}:project:lb:<uid>:<period>`.
 *
 * A missing index (never built, evicted, deleted) answers "not built"; the first node to see that takes a
 * short lock, rebuilds from Postgres in batches and marks it built, while other nodes wait for the mark.
 * Its own connection (ioredis) fails fast while Redis is down: a rank is then a 503, never a wrong answer.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DEFAULT_ROOT, RedisKeyspace, checkRoot } from '../../internal/cache/keyspace.js';
import { connectionOptions, whenReady } from '../../internal/cache/redis.js';
import { AppError, unavailable } from '../../internal/errors/app-error.js';
import { boardKey, periodKey, type BoardPeriod, type RankIndex, type RankSource } from './rank-index.js';
import { entryOfMember, memberOf, versionHex, type RankEntry, type RankedEntry } from './rank-key.js';
import {
  AFTER_LUA,
  AROUND_LUA,
  FINISH_LUA,
  LOAD_LUA,
  RANGE_LUA,
  RANK_LUA,
  RELEASE_LUA,
  REMOVE_LUA,
  INVALIDATE_LUA,
  RESET_LUA,
  SIZE_LUA,
  UPSERT_LUA,
} from './redis-rank-scripts.js';

type Reply = (number | string)[];

interface Scripts {
  lbUpsert(z: string, h: string, player: string, member: string): Promise<Reply>;
  lbRemove(z: string, h: string, player: string, version: string): Promise<number>;
  lbRank(z: string, h: string, player: string): Promise<Reply>;
  lbRange(z: string, h: string, start: number, count: number): Promise<Reply>;
  lbAfter(z: string, h: string, member: string, count: number): Promise<Reply>;
  lbAround(z: string, h: string, player: string, limit: number): Promise<Reply>;
  lbSize(z: string, h: string): Promise<number>;
  lbLoad(z: string, h: string, lock: string, token: string, lockMs: number, ...pairs: string[]): Promise<number>;
  lbFinish(z: string, h: string, lock: string, periods: string, token: string, period: string, expireAt: number): Promise<number>;
  lbReset(z: string, h: string, lock: string, token: string): Promise<number>;
  lbRelease(lock: string, token: string): Promise<number>;
  lbInvalidate(z: string, h: string): Promise<number>;
}

export interface RedisRankIndexOptions {
  url: string;
  source: RankSource;
  /** The root in front of the namespace (default 'ggscale:'; tests use a random one per run). */
  keyPrefix?: string;
  /** The deployment namespace, or where to read it (on first use: the database may not be open yet). */
  namespace: string | (() => Promise<string>);
  batchSize?: number;
  /** How long the build lock lives without being renewed by a batch. */
  lockMs?: number;
  /** How long a request waits for another node's rebuild before answering 503. */
  waitMs?: number;
}

const NOT_BUILT = -1;

export class RedisRankIndex implements RankIndex {
  readonly kind = 'redis';
  private readonly client: Redis & Scripts;
  private readonly root: string;
  /** Set by the first call (every operation goes through call(), which reads the namespace first). */
  private keyspace: RedisKeyspace | undefined;
  private readonly batchSize: number;
  private readonly lockMs: number;
  private readonly waitMs: number;
  /** Builds this node runs or waits for, so concurrent requests share one. */
  private readonly builds = new Map<string, Promise<void>>();
  /**
   * Indexes that missed a write of a committed record (Redis failed mid-write): they are marked not built
   * as soon as Redis answers again, so the next use rebuilds them from Postgres instead of serving a stale rank.
   */
  private readonly missedWrites = new Map<string, BoardPeriod>();

  constructor(private readonly options: RedisRankIndexOptions) {
    this.root = checkRoot(options.keyPrefix ?? DEFAULT_ROOT);
    this.batchSize = options.batchSize ?? 10_000;
    this.lockMs = options.lockMs ?? 30_000;
    this.waitMs = options.waitMs ?? 8_000;
    // The cache's fail-fast options (a resent script could apply a batch twice: harmless, versioned, but
    // failing fast is simpler); a rank script is given longer than a budget decision.
    this.client = new Redis(options.url, { ...connectionOptions('ggscale-rank-index'), commandTimeout: 5_000 }) as Redis & Scripts;
    // Errors surface per call as 503s; the connection keeps reconnecting in the background.
    this.client.on('error', () => undefined);
    const define = (name: keyof Scripts, numberOfKeys: number, lua: string) => this.client.defineCommand(name, { numberOfKeys, lua });
    define('lbUpsert', 2, UPSERT_LUA);
    define('lbRemove', 2, REMOVE_LUA);
    define('lbRank', 2, RANK_LUA);
    define('lbRange', 2, RANGE_LUA);
    define('lbAfter', 2, AFTER_LUA);
    define('lbAround', 2, AROUND_LUA);
    define('lbSize', 2, SIZE_LUA);
    define('lbLoad', 3, LOAD_LUA);
    define('lbFinish', 4, FINISH_LUA);
    define('lbReset', 3, RESET_LUA);
    define('lbRelease', 1, RELEASE_LUA);
    define('lbInvalidate', 2, INVALIDATE_LUA);
  }

  /** Resolves once connected (false after timeoutMs), for start-up and tests. */
  waitReady(timeoutMs: number): Promise<boolean> {
    return whenReady(this.client, timeoutMs);
  }

  // Each operation builds its keys inside the function it hands to call(), which reads the namespace first.

  async upsert(board: BoardPeriod, entry: RankEntry): Promise<RankedEntry | null> {
    const reply = await this.write(board, () => {
      const { z, h } = this.keys(board);
      return this.client.lbUpsert(z, h, entry.playerId, memberOf(entry, board.descending));
    });
    if (reply[0] === NOT_BUILT) {
      await this.build(board);
      return this.rankOf(board, entry.playerId);
    }
    return this.rankedOf(board, reply);
  }

  async remove(board: BoardPeriod, playerId: string, seq: bigint): Promise<void> {
    await this.write(board, () => {
      const { z, h } = this.keys(board);
      return this.client.lbRemove(z, h, playerId, versionHex(seq));
    });
  }

  async rankOf(board: BoardPeriod, playerId: string): Promise<RankedEntry | null> {
    const reply = await this.built(board, () => {
      const { z, h } = this.keys(board);
      return this.client.lbRank(z, h, playerId);
    });
    return this.rankedOf(board, reply);
  }

  async page(board: BoardPeriod, after: RankEntry | null, limit: number): Promise<RankedEntry[]> {
    const reply = await this.built(board, () => {
      const { z, h } = this.keys(board);
      return after ? this.client.lbAfter(z, h, memberOf(after, board.descending), limit) : this.client.lbRange(z, h, 0, limit);
    });
    return this.membersOf(board, reply);
  }

  async around(board: BoardPeriod, playerId: string, limit: number): Promise<RankedEntry[] | null> {
    const reply = await this.built(board, () => {
      const { z, h } = this.keys(board);
      return this.client.lbAround(z, h, playerId, limit);
    });
    return reply[0] === 0 ? null : this.membersOf(board, reply);
  }

  async size(board: BoardPeriod): Promise<number> {
    const reply = await this.built(board, async () => {
      const { z, h } = this.keys(board);
      return [await this.client.lbSize(z, h)];
    });
    return Number(reply[0]);
  }

  async dropBoard(tenantId: string, projectId: string, boardUid: string): Promise<void> {
    const base = () => this.space().key(boardKey({ tenantId, projectId, boardUid }));
    const periods = await this.call(() => this.client.smembers(`${base()}:periods`));
    await this.call(() => {
      const keys = periods.flatMap((period) => [`${base()}:${period}`, `${base()}:${period}:v`]);
      return this.client.del(`${base()}:periods`, ...keys);
    });
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private keys(board: BoardPeriod) {
    const space = this.space();
    const z = space.key(periodKey(board));
    return { z, h: `${z}:v`, lock: `${z}:build`, periods: space.key(`${boardKey(board)}:periods`) };
  }

  private space(): RedisKeyspace {
    if (!this.keyspace) throw unavailable('The rank index is waiting for the deployment namespace; try again shortly.', 1);
    return this.keyspace;
  }

  private async loadKeyspace(): Promise<void> {
    const { namespace } = this.options;
    this.keyspace ??= new RedisKeyspace(typeof namespace === 'string' ? namespace : await namespace(), this.root);
  }

  /** Runs a read script; when the index is not built, builds it (or waits for another node) and reads again. */
  private async built(board: BoardPeriod, read: () => Promise<Reply>): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const reply = await this.call(read);
      if (reply[0] !== NOT_BUILT) return reply;
      if (attempt >= 2) throw unavailable('The rank index is being rebuilt; try again shortly.', 1);
      await this.build(board);
    }
  }

  private rankedOf(board: BoardPeriod, reply: Reply): RankedEntry | null {
    if (reply[0] !== 1) return null;
    return { ...entryOfMember(String(reply[2]), board.descending), rank: Number(reply[1]) + 1 };
  }

  private membersOf(board: BoardPeriod, reply: Reply): RankedEntry[] {
    const start = Number(reply[1]);
    return reply.slice(2).map((member, i) => ({ ...entryOfMember(String(member), board.descending), rank: start + i + 1 }));
  }

  private build(board: BoardPeriod): Promise<void> {
    const key = periodKey(board);
    let running = this.builds.get(key);
    if (!running) {
      running = this.buildOrWait(board).finally(() => this.builds.delete(key));
      this.builds.set(key, running);
    }
    return running;
  }

  private async buildOrWait(board: BoardPeriod): Promise<void> {
    const { z, h, lock, periods } = this.keys(board);
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const token = randomBytes(12).toString('hex');
      if ((await this.call(() => this.client.set(lock, token, 'PX', this.lockMs, 'NX'))) === 'OK') {
        try {
          if ((await this.call(() => this.client.lbSize(z, h))) !== NOT_BUILT) return; // finished just before us
          await this.load(board, token);
          if ((await this.call(() => this.client.lbFinish(z, h, lock, periods, token, board.period, board.retiredAtMs ?? 0))) !== 1) {
            throw unavailable('The rank index is being rebuilt; try again shortly.', 1);
          }
          return;
        } finally {
          await this.call(() => this.client.lbRelease(lock, token)).catch(() => undefined);
        }
      }
      // Another node is building: wait for its mark (or for its lock to lapse, then build ourselves).
      if ((await this.call(() => this.client.lbSize(z, h))) !== NOT_BUILT) return;
      if (Date.now() > deadline) throw unavailable('The rank index is being rebuilt; try again shortly.', 1);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private async load(board: BoardPeriod, token: string): Promise<void> {
    const { z, h, lock } = this.keys(board);
    await this.call(() => this.client.lbReset(z, h, lock, token));
    let after: string | null = null;
    for (;;) {
      const batch = await this.options.source(board, after, this.batchSize);
      const pairs = batch.flatMap((entry) => [entry.playerId, memberOf(entry, board.descending)]);
      if (pairs.length > 0 && (await this.call(() => this.client.lbLoad(z, h, lock, token, this.lockMs, ...pairs))) !== 1) {
        throw unavailable('The rank index is being rebuilt; try again shortly.', 1);
      }
      if (batch.length < this.batchSize) return;
      after = batch[batch.length - 1]!.playerId;
    }
  }

  /** A write of a committed record: if it fails, the index is invalidated once Redis is back. */
  private async write<T>(board: BoardPeriod, run: () => Promise<T>): Promise<T> {
    try {
      return await this.call(run);
    } catch (error) {
      this.missedWrites.set(periodKey(board), board);
      throw error;
    }
  }

  private async invalidateMissed(): Promise<void> {
    for (const [key, board] of [...this.missedWrites]) {
      const { z, h } = this.keys(board);
      await this.client.lbInvalidate(z, h);
      this.missedWrites.delete(key);
    }
  }

  /** Redis failures are the documented 503 (the rank would otherwise be a guess). */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      if (!this.keyspace) await this.loadKeyspace();
      if (this.missedWrites.size > 0) await this.invalidateMissed();
      return await run();
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('unavailable', 'The rank index is unavailable; try again shortly.', { retryAfterSeconds: 1, cause: error });
    }
  }
}
