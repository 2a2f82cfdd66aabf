/** SQL of leaderboards (the boards themselves), always inside the caller's tenant and project. */
import { scopeParams, type Database } from '../../internal/db/database.js';
import { isUniqueViolation } from '../../internal/db/errors.js';
import { conflict } from '../../internal/errors/app-error.js';
import type { ProjectScope } from '../../http/auth-context.js';

export type SortOrder = 'desc' | 'asc';
export type ScoreOperator = 'best' | 'set' | 'incr' | 'decr';

export interface Board {
  /** The surrogate id: a board recreated under the same id has a new uid (and starts empty). */
  uid: string;
  id: string;
  sort: SortOrder;
  operator: ScoreOperator;
  authoritative: boolean;
  resetCron: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface NewBoard {
  id: string;
  sort: SortOrder;
  operator: ScoreOperator;
  authoritative: boolean;
  resetCron: string | null;
  /** Validated JSON text. */
  metadataJson: string;
}

interface BoardRow {
  uid: string;
  id: string;
  sort: SortOrder;
  operator: ScoreOperator;
  authoritative: boolean;
  reset_cron: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = 'uid, id, sort, operator, authoritative, reset_cron, metadata, created_at';

const toBoard = (row: BoardRow): Board => ({
  uid: String(row.uid),
  id: row.id,
  sort: row.sort,
  operator: row.operator,
  authoritative: row.authoritative,
  resetCron: row.reset_cron,
  metadata: row.metadata,
  createdAt: new Date(row.created_at),
});

export class BoardStore {
  constructor(private readonly db: Database) {}

  async create(scope: ProjectScope, board: NewBoard): Promise<Board> {
    try {
      const [row] = await this.db.tenantQuery<BoardRow>(
        scope,
        `insert into leaderboards (tenant_id, project_id, id, sort, operator, authoritative, reset_cron, metadata)
         values ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb) returning ${COLUMNS}`,
        [...scopeParams(scope), board.id, board.sort, board.operator, board.authoritative, board.resetCron, board.metadataJson],
      );
      return toBoard(row!);
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`A leaderboard "${board.id}" already exists; its settings are fixed once created.`);
      throw error;
    }
  }

  async get(scope: ProjectScope, id: string): Promise<Board | null> {
    const [row] = await this.db.tenantQuery<BoardRow>(
      scope,
      `select ${COLUMNS} from leaderboards where tenant_id = $1 and project_id = $2 and id = $3 and deleted_at is null`,
      [...scopeParams(scope), id],
    );
    return row ? toBoard(row) : null;
  }

  /** A page in id order (byte-wise), after `afterId`. */
  async list(scope: ProjectScope, afterId: string | null, limit: number): Promise<Board[]> {
    const rows = await this.db.tenantQuery<BoardRow>(
      scope,
      `select ${COLUMNS} from leaderboards
        where tenant_id = $1 and project_id = $2 and deleted_at is null and id > $3
        order by id limit $4`,
      [...scopeParams(scope), afterId ?? '', limit],
    );
    return rows.map(toBoard);
  }

  /** Marks a board deleted (its id is free at once); its records are purged afterwards. The uid, or null. */
  async markDeleted(scope: ProjectScope, id: string): Promise<string | null> {
    const [row] = await this.db.tenantQuery<{ uid: string }>(
      scope,
      `update leaderboards set deleted_at = now()
        where tenant_id = $1 and project_id = $2 and id = $3 and deleted_at is null returning uid`,
      [...scopeParams(scope), id],
    );
    return row ? String(row.uid) : null;
  }

  /**
   * Deletes up to `batch` records of a deleted board, and the board's tombstone once none are left (short
   * transactions: a board of millions of records never holds one long delete). True when it is all gone.
   */
  async purgeDeleted(scope: ProjectScope, uid: string, batch: number): Promise<boolean> {
    const [result] = await this.db.tenantQuery<{ n: string | number }>(
      scope,
      `with doomed as (
         select period, player_id from leaderboard_records
          where tenant_id = $1 and project_id = $2 and board_uid = $3
            and exists (select 1 from leaderboards b
                         where b.tenant_id = $1 and b.project_id = $2 and b.uid = $3 and b.deleted_at is not null)
          limit $4),
       gone as (
         delete from leaderboard_records r using doomed d
          where r.tenant_id = $1 and r.project_id = $2 and r.board_uid = $3 and r.period = d.period and r.player_id = d.player_id
          returning 1)
       select count(*) as n from gone`,
      [...scopeParams(scope), uid, batch],
    );
    if (Number(result?.n ?? 0) >= batch) return false;
    await this.db.tenantQuery(
      scope,
      'delete from leaderboards where tenant_id = $1 and project_id = $2 and uid = $3 and deleted_at is not null',
      [...scopeParams(scope), uid],
    );
    return true;
  }
}
