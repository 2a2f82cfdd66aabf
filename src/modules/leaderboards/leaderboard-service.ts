/**
 * Leaderboards: boards, score submits and rank reads. Postgres holds every record; ranks come from the
 * rank index (memory or Redis), which each write updates after its commit and which rebuilds itself from
 * Postgres when missing. No rank is ever computed with COUNT(*).
 */
import type { Database } from '../../internal/db/database.js';
import { withoutDeadline } from '../../internal/deadline.js';
import { forbidden, notFound, validation } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { stillInProgress, type IdempotencyApi, type IdempotencyTicket, type IdempotentRequest } from '../idempotency/api.js';
import { BoardDirectory, type KnownBoard, type PeriodChoice } from './board-directory.js';
import { BoardStore, type Board, type NewBoard } from './board-store.js';
import type { BoardPeriod, RankIndex } from './rank-index.js';
import { entryOfMember, memberOf } from './rank-key.js';
import { RecordStore, type FullRecordRow, type RecordRow, type SubmitValues } from './record-store.js';
import { INT64_MAX, INT64_MIN } from './scores.js';

export interface Caller {
  kind: 'player' | 'secret';
  /** The player of a player token. */
  playerId?: string;
}

export interface SubmitInput {
  playerId: string;
  score: bigint;
  subscore: bigint;
  metadataJson: string | null;
  idempotencyKey?: string;
}

export interface SubmitAnswer {
  player_id: string;
  score: bigint;
  subscore: bigint;
  /** Null only if the record was deleted by a concurrent request before its rank could be read. */
  rank: number | null;
  updated_at: Date;
}

/** A submit's answer as an Idempotency-Key replays it (JSON in the key's row). */
interface StoredAnswer {
  player_id: string;
  score: string;
  subscore: string;
  seq: string;
  updated_at: string;
  /** Filled in once the rank index has taken the write (after the commit). */
  rank?: number;
}

export interface ScoreItem {
  rank: number;
  record: FullRecordRow;
}

export interface ScorePage {
  items: ScoreItem[];
  /** The rank-index member of a full page's last entry, to continue after (the cursor). */
  nextAfter: string | null;
}

/** Purged per statement when a deleted board's records go. */
const PURGE_BATCH = 5_000;

/**
 * What a step on a board returns when it found nothing there: the board may be stale (deleted, or recreated
 * under its id, since this node cached it), which onLiveBoard checks before answering.
 */
const STALE: unique symbol = Symbol('stale board');
type Stale = typeof STALE;

function noRecord(): never {
  throw notFound('This player has no record on this leaderboard.');
}

/** Where boards and records live, and the cached view of which boards exist. */
export interface LeaderboardStores {
  boards: BoardStore;
  records: RecordStore;
  directory: BoardDirectory;
}

/** The stores over one database, with board lookups cached for `boardCacheMs`. */
export function leaderboardStores(db: Database, boardCacheMs: number): LeaderboardStores {
  const boards = new BoardStore(db);
  return { boards, records: new RecordStore(db), directory: new BoardDirectory(boards, boardCacheMs) };
}

export class LeaderboardService {
  readonly boards: BoardStore;
  readonly records: RecordStore;
  readonly directory: BoardDirectory;
  private readonly purges = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly db: Database,
    stores: LeaderboardStores,
    readonly index: RankIndex,
    private readonly logger: Logger,
    /** Idempotency-Key on submits: claimed in the submit's transaction, so a concurrent retry waits for it. */
    private readonly idempotency: IdempotencyApi,
  ) {
    ({ boards: this.boards, records: this.records, directory: this.directory } = stores);
  }

  createBoard(scope: ProjectScope, board: NewBoard): Promise<Board> {
    return this.boards.create(scope, board);
  }

  async getBoard(scope: ProjectScope, id: string): Promise<Board> {
    const board = await this.boards.get(scope, id);
    if (!board) throw notFound(`No leaderboard "${id}".`);
    return board;
  }

  /** The players' scores in the board's current period (no rank needed: read from Postgres); absent: no record. */
  async currentScores(scope: ProjectScope, boardId: string, playerIds: readonly string[]): Promise<Map<string, bigint>> {
    const known = await this.directory.get(scope, boardId);
    const period = this.directory.periodOf(scope, known, 'current');
    const rows = await Promise.all(playerIds.map((playerId) => this.records.get(scope, known.board.uid, period.period, playerId)));
    const scores = new Map<string, bigint>();
    rows.forEach((row, i) => row && scores.set(playerIds[i]!, BigInt(row.score)));
    return scores;
  }

  listBoards(scope: ProjectScope, afterId: string | null, limit: number): Promise<Board[]> {
    return this.boards.list(scope, afterId, limit);
  }

  /** The id is free at once; the records and rank indexes of the old board go in the background. */
  async deleteBoard(scope: ProjectScope, id: string): Promise<void> {
    const uid = await this.boards.markDeleted(scope, id);
    this.directory.forget(scope, id);
    if (uid === null) throw notFound(`No leaderboard "${id}".`);
    await this.index.dropBoard(scope.tenantId, scope.projectId, uid).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'leaderboards: could not drop a deleted board from the rank index'),
    );
    // Not tied to this request: its client may leave as soon as it has its 204.
    const purge = withoutDeadline(() => this.purge(scope, uid)).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'leaderboards: purge of a deleted board stopped; the sweeper will finish it'),
    );
    this.purges.add(purge);
    void purge.finally(() => this.purges.delete(purge));
  }

  async purge(scope: ProjectScope, uid: string): Promise<void> {
    while (!this.closed && !(await this.boards.purgeDeleted(scope, uid, PURGE_BATCH)));
  }

  async submit(scope: ProjectScope, boardId: string, caller: Caller, input: SubmitInput): Promise<SubmitAnswer> {
    const known = await this.directory.get(scope, boardId);
    if (caller.kind === 'player' && known.board.authoritative) {
      throw forbidden('This leaderboard is authoritative: only a secret key may submit scores.');
    }
    // decr is incr by the negation (one statement shape for both).
    const negate = known.board.operator === 'decr';
    const score = negate ? -input.score : input.score;
    const subscore = negate ? -input.subscore : input.subscore;
    if (score > INT64_MAX || subscore > INT64_MAX || score < INT64_MIN || subscore < INT64_MIN) {
      throw validation('The resulting score or subscore is outside signed 64 bits.');
    }
    const values: SubmitValues = { playerId: input.playerId, score, subscore, metadataJson: input.metadataJson };
    // Keys are per caller: a player's own, or shared by the project's secret keys.
    const idempotent: IdempotentRequest | undefined = input.idempotencyKey
      ? {
          operation: 'leaderboards.submit',
          caller: caller.kind === 'player' ? `player:${caller.playerId}` : 'secret',
          key: input.idempotencyKey,
          request: [boardId, input.playerId, input.score.toString(), input.subscore.toString(), input.metadataJson],
        }
      : undefined;

    return this.onLiveBoard(scope, known, (live) => this.submitTo(scope, live, values, idempotent), () => {
      throw notFound(`No leaderboard "${boardId}".`);
    });
  }

  /** One submit to the board as `known` has it; STALE when the statement found that board dead. */
  private async submitTo(scope: ProjectScope, known: KnownBoard, values: SubmitValues, idempotent: IdempotentRequest | undefined): Promise<SubmitAnswer | Stale> {
    const period = this.directory.periodOf(scope, known, 'current');
    const target = { boardUid: known.board.uid, period: period.period, sort: known.board.sort, operator: known.board.operator };
    let row: RecordRow | null;
    let replay: StoredAnswer | null = null;
    let ticket: IdempotencyTicket | null = null;
    if (idempotent) {
      ({ row, replay, ticket } = await this.db.withTenant(scope, async (tx) => {
        const claim = await this.idempotency.claim<StoredAnswer>(tx, scope, idempotent);
        if (claim.status === 'replay') return { row: null, replay: claim.answer, ticket: null };
        // Not seen here: a submit commits its claim and its answer together.
        if (claim.status === 'in-progress') throw stillInProgress();
        const written = await this.records.submit(scope, target, values, tx);
        // A dead board: roll the claim back with the transaction, refresh the board, try again.
        if (!written) throw new BoardGone();
        await this.idempotency.store(tx, claim.ticket, {
          player_id: String(written.player_id),
          score: String(written.score),
          subscore: String(written.subscore),
          seq: String(written.seq),
          updated_at: new Date(written.updated_at).toISOString(),
        } satisfies StoredAnswer);
        return { row: written, replay: null, ticket: claim.ticket };
      }).catch((error: unknown) => {
        if (error instanceof BoardGone) return { row: null, replay: null, ticket: null };
        throw error;
      }));
    } else {
      row = await this.records.submit(scope, target, values);
    }
    if (replay) return this.replayed(period, replay);
    if (!row) return STALE;
    const ranked = await this.index.upsert(period, { playerId: String(row.player_id), score: BigInt(row.score), subscore: BigInt(row.subscore), seq: BigInt(row.seq) });
    if (ticket && ranked) {
      await this.idempotency.amend(ticket, { rank: ranked.rank }).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'leaderboards: could not store the rank of an idempotent submit'),
      );
    }
    return { player_id: String(row.player_id), score: BigInt(row.score), subscore: BigInt(row.subscore), rank: ranked?.rank ?? null, updated_at: new Date(row.updated_at) };
  }

  private async replayed(period: BoardPeriod, stored: StoredAnswer): Promise<SubmitAnswer> {
    const rank = stored.rank ?? (await this.index.rankOf(period, stored.player_id))?.rank ?? null;
    return { player_id: stored.player_id, score: BigInt(stored.score), subscore: BigInt(stored.subscore), rank, updated_at: new Date(stored.updated_at) };
  }

  /** One player's record with its rank; 404 when it has none. */
  async record(scope: ProjectScope, boardId: string, playerId: string, choice: PeriodChoice): Promise<ScoreItem> {
    const known = await this.directory.get(scope, boardId);
    return this.onLiveBoard(
      scope,
      known,
      async (live) => {
        const period = this.directory.periodOf(scope, live, choice);
        const [row, indexed] = await Promise.all([this.records.get(scope, live.board.uid, period.period, playerId), this.index.rankOf(period, playerId)]);
        if (!row) return STALE;
        // Read repair: Postgres has a newer version than the index (a write whose index update is still in
        // flight, or was lost with a node): applying it is safe, the index keeps whichever is newer.
        const seq = BigInt(row.seq);
        const ranked =
          indexed && indexed.seq >= seq
            ? indexed
            : await this.index.upsert(period, { playerId, score: BigInt(row.score), subscore: BigInt(row.subscore), seq });
        return ranked ? { rank: ranked.rank, record: row } : STALE;
      },
      noRecord,
    );
  }

  /** A page of the board in rank order (after a cursor's entry), or the window around one player. */
  async scores(
    scope: ProjectScope,
    boardId: string,
    query: { limit: number; after: string | null; around: string | null; choice: PeriodChoice },
  ): Promise<ScorePage> {
    const known = await this.directory.get(scope, boardId);
    // The page of the last try when the board stays stale: index entries that Postgres no longer has live, so
    // no items, and the cursor after them when the page was full.
    let partial: ScorePage = { items: [], nextAfter: null };
    return this.onLiveBoard(
      scope,
      known,
      async (live) => {
        const period = this.directory.periodOf(scope, live, query.choice);
        let entries;
        if (query.around !== null) {
          entries = await this.index.around(period, query.around, query.limit);
          if (!entries) throw notFound('This player has no record on this leaderboard.');
        } else {
          const after = query.after === null ? null : entryOfMember(query.after, period.descending);
          entries = await this.index.page(period, after, query.limit + 1);
        }
        const full = query.around === null && entries.length > query.limit;
        if (full) entries = entries.slice(0, query.limit);
        const rows = await this.records.rows(scope, live.board.uid, period.period, entries.map((entry) => entry.playerId));
        const items: ScoreItem[] = [];
        for (const entry of entries) {
          const record = rows.get(entry.playerId);
          if (record) items.push({ rank: entry.rank, record });
        }
        const lastEntry = entries[entries.length - 1];
        const page = { items, nextAfter: full && lastEntry ? memberOf(lastEntry, period.descending) : null };
        if (entries.length > 0 && rows.size === 0) {
          partial = page;
          return STALE;
        }
        return page;
      },
      () => partial,
    );
  }

  async deleteRecord(scope: ProjectScope, boardId: string, playerId: string, choice: PeriodChoice): Promise<void> {
    const known = await this.directory.get(scope, boardId);
    await this.onLiveBoard(
      scope,
      known,
      async (live) => {
        const period = this.directory.periodOf(scope, live, choice);
        const seq = await this.records.remove(scope, live.board.uid, period.period, playerId);
        if (seq === null) return STALE;
        await this.index.remove(period, playerId, seq);
      },
      noRecord,
    );
  }

  /**
   * Runs `run` on the board as this node knows it and, when that returns STALE, once more on the board now
   * under its id (one fresh lookup, which is a 404 when the id has no board). `otherwise` answers when the
   * lookup finds the same board after all, or when the second run returns STALE too.
   */
  private async onLiveBoard<T>(scope: ProjectScope, known: KnownBoard, run: (known: KnownBoard) => Promise<T | Stale>, otherwise: () => T): Promise<T> {
    const first = await run(known);
    if (first !== STALE) return first;
    const newer = await this.directory.refresh(scope, known);
    if (!newer) return otherwise();
    const second = await run(newer);
    return second === STALE ? otherwise() : second;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.purges]);
  }
}

/** Thrown inside an idempotent submit's transaction when the board died: rolls the key's claim back. */
class BoardGone extends Error {}
