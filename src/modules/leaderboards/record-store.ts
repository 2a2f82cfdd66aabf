/**
 * SQL of leaderboard records. A submit is ONE `INSERT … ON CONFLICT … DO UPDATE` per operator (as Nakama's
 * core_leaderboard.go does), so concurrent submits of one player serialise on the row and `incr` adds up
 * exactly. The statement also checks that the board is still alive (a node may hold stale board settings).
 *
 * The record's seq is taken inside DO UPDATE, i.e. after the row lock: a later write of a record always gets
 * a greater seq, which is what lets the rank index order reordered writes by it.
 */
import { scopeParams, type Database, type Queryable } from '../../internal/db/database.js';
import { sqlState } from '../../internal/db/errors.js';
import { notFound, validation } from '../../internal/errors/app-error.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { ScoreOperator, SortOrder } from './board-store.js';
import type { RankEntry } from './rank-key.js';

export interface RecordRow {
  player_id: string;
  score: string;
  subscore: string;
  seq: string;
  updated_at: Date;
}

export interface FullRecordRow extends RecordRow {
  metadata: Record<string, unknown>;
  username: string | null;
}

export interface SubmitTarget {
  boardUid: string;
  period: string;
  sort: SortOrder;
  operator: ScoreOperator;
}

export interface SubmitValues {
  playerId: string;
  /** For incr/decr, the amount (decr is stored as incr by its negation). */
  score: bigint;
  subscore: bigint;
  metadataJson: string | null;
}

/** Keep-the-old-or-take-the-new metadata: a submit without metadata keeps what the record had. */
const NEW_METADATA = `coalesce($8::text::jsonb, case when r.deleted then '{}'::jsonb else r.metadata end)`;

/** The DO UPDATE of one operator, from its new (score, subscore) and when the submit counts at all. */
function upsertSql(score: string, subscore: string, applies: string): string {
  return `insert into leaderboard_records as r (tenant_id, project_id, board_uid, period, player_id, score, subscore, seq, metadata)
  select b.tenant_id, b.project_id, b.uid, $4::bigint, $5::bigint, $6::bigint, $7::bigint, nextval('leaderboard_record_seq'), coalesce($8::text::jsonb, '{}'::jsonb)
    from leaderboards b
   where b.tenant_id = $1 and b.project_id = $2 and b.uid = $3 and b.deleted_at is null
  on conflict (tenant_id, project_id, board_uid, period, player_id) do update set
    score = ${score},
    subscore = ${subscore},
    seq = case when r.deleted or (${score}, ${subscore}) is distinct from (r.score, r.subscore)
               then nextval('leaderboard_record_seq') else r.seq end,
    metadata = case when ${applies} then ${NEW_METADATA} else r.metadata end,
    created_at = case when r.deleted then now() else r.created_at end,
    updated_at = case when ${applies} then now() else r.updated_at end,
    deleted = false
  returning r.player_id, r.score, r.subscore, r.seq, r.updated_at`;
}

/** best: the better (score, subscore) by the board's order wins; a deleted record counts as none. */
function bestSql(better: '>' | '<'): string {
  const wins = `(r.deleted or (excluded.score, excluded.subscore) ${better} (r.score, r.subscore))`;
  return upsertSql(
    `case when ${wins} then excluded.score else r.score end`,
    `case when ${wins} then excluded.subscore else r.subscore end`,
    wins,
  );
}

const SUBMIT_SQL: Record<'best-desc' | 'best-asc' | 'set' | 'incr', string> = {
  'best-desc': bestSql('>'),
  'best-asc': bestSql('<'),
  set: upsertSql('excluded.score', 'excluded.subscore', 'true'),
  incr: upsertSql(
    'case when r.deleted then excluded.score else r.score + excluded.score end',
    'case when r.deleted then excluded.subscore else r.subscore + excluded.subscore end',
    'true',
  ),
};

/** Live records of a live board with their players' usernames; callers add the player condition ($5). */
const RECORD_SELECT = `select r.player_id, r.score, r.subscore, r.seq, r.metadata, r.updated_at, p.username
  from leaderboard_records r
  join leaderboards b on b.tenant_id = r.tenant_id and b.project_id = r.project_id and b.uid = r.board_uid and b.deleted_at is null
  join players p on p.tenant_id = r.tenant_id and p.project_id = r.project_id and p.id = r.player_id
 where r.tenant_id = $1 and r.project_id = $2 and r.board_uid = $3 and r.period = $4 and not r.deleted`;

/** Maps the errors a client can cause in a submit. */
function mapSubmitError(error: unknown): unknown {
  const state = sqlState(error);
  if (state === '22003') return validation('The resulting score or subscore is outside signed 64 bits.');
  if (state === '23503') return notFound('The player does not exist in this project.');
  return error;
}

export class RecordStore {
  constructor(private readonly db: Database) {}

  /** One submit in one statement; null when the board has been deleted meanwhile. */
  async submit(scope: ProjectScope, target: SubmitTarget, values: SubmitValues, tx?: Queryable): Promise<RecordRow | null> {
    const kind = target.operator === 'best' ? (`best-${target.sort}` as const) : target.operator === 'set' ? 'set' : 'incr';
    const params = [
      ...scopeParams(scope),
      target.boardUid,
      target.period,
      values.playerId,
      values.score.toString(),
      values.subscore.toString(),
      values.metadataJson,
    ];
    try {
      const rows = tx ? await tx.query<RecordRow>(SUBMIT_SQL[kind], params) : await this.db.tenantQuery<RecordRow>(scope, SUBMIT_SQL[kind], params);
      return rows[0] ?? null;
    } catch (error) {
      throw mapSubmitError(error);
    }
  }

  /**
   * One player's live record, with its username; null when it has none (or the board is gone). Its own
   * statement with a scalar player id, not rows() with a one-element array: for `= any($5)` the generic
   * plan's estimate (10 rows) loses to a custom plan for one element, so PostgreSQL planned that query
   * again on every execution (~0.3 ms of server CPU, measured), where this one settles on a generic plan.
   */
  async get(scope: ProjectScope, boardUid: string, period: string, playerId: string): Promise<FullRecordRow | null> {
    const [row] = await this.db.tenantQuery<FullRecordRow>(scope, `${RECORD_SELECT} and r.player_id = $5::bigint`, [
      ...scopeParams(scope),
      boardUid,
      period,
      playerId,
    ]);
    return row ?? null;
  }

  /** The live records of the given players on a live board, by player id. */
  async rows(scope: ProjectScope, boardUid: string, period: string, playerIds: string[]): Promise<Map<string, FullRecordRow>> {
    if (playerIds.length === 0) return new Map();
    const rows = await this.db.tenantQuery<FullRecordRow>(scope, `${RECORD_SELECT} and r.player_id = any($5::bigint[])`, [
      ...scopeParams(scope),
      boardUid,
      period,
      `{${playerIds.join(',')}}`,
    ]);
    return new Map(rows.map((row) => [String(row.player_id), row]));
  }

  /** Deletes a player's record (a tombstone row whose seq moved on); the tombstone's seq, or null if none. */
  async remove(scope: ProjectScope, boardUid: string, period: string, playerId: string): Promise<bigint | null> {
    const [row] = await this.db.tenantQuery<{ seq: string }>(
      scope,
      `update leaderboard_records set deleted = true, seq = nextval('leaderboard_record_seq'), updated_at = now()
        where tenant_id = $1 and project_id = $2 and board_uid = $3 and period = $4 and player_id = $5 and not deleted
        returning seq`,
      [...scopeParams(scope), boardUid, period, playerId],
    );
    return row ? BigInt(row.seq) : null;
  }

  /** The rank index's source: live records in player-id order after `afterPlayerId` (a keyset scan). */
  async scan(scope: ProjectScope, boardUid: string, period: string, afterPlayerId: string | null, limit: number): Promise<RankEntry[]> {
    const rows = await this.db.tenantQuery<{ player_id: string; score: string; subscore: string; seq: string }>(
      scope,
      `select player_id, score, subscore, seq from leaderboard_records
        where tenant_id = $1 and project_id = $2 and board_uid = $3 and period = $4 and player_id > $5 and not deleted
        order by player_id limit $6`,
      [...scopeParams(scope), boardUid, period, afterPlayerId ?? '0', limit],
    );
    return rows.map((row) => ({ playerId: String(row.player_id), score: BigInt(row.score), subscore: BigInt(row.subscore), seq: BigInt(row.seq) }));
  }
}
