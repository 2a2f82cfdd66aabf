/**
 * The friend_relations table on the request path, through RLS: every statement runs in the project's scope,
 * so another project's rows are simply not there. One row per direction (migrations/0009_social says why):
 * (player_id, other_id, state) is the relation as player_id sees other_id.
 *
 * Consistency of a pair. Every change between two players runs in one transaction that first takes both
 * players' advisory locks, then reads and writes both rows. The locks are per player (not per pair) so that
 * a player's counts, read for the limits, cannot change under the check; they are taken in the order of
 * their lock keys, so two transactions never wait on each other in a cycle.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { scopeParams, type Database, type Queryable } from '../../internal/db/database.js';
import type { RelationState } from './api.js';

/** The advisory lock class of a player's relations (two-key form: this, and the player id folded to int4). */
const LOCK_CLASS = 0x736f6369;
const FOLD = 2147483647n;

export const STATE_ORDER: readonly RelationState[] = ['friend', 'invite_received', 'invite_sent', 'blocked'];
/** The listing rank of a state (the table's generated state_rank). */
export const rankOf = (state: RelationState): number => STATE_ORDER.indexOf(state) + 1;

export interface RelationRow {
  other_id: string;
  state: RelationState;
  updated_at: Date;
}

export interface OwnCounts {
  /** `friend` and `invite_sent` together (FRIENDS_MAX). */
  friendsAndSent: number;
  /** `invite_received` (FRIEND_REQUESTS_PENDING_MAX). */
  received: number;
  /** `blocked` (BLOCKS_MAX). */
  blocked: number;
}

export interface ListPosition {
  rank: number;
  otherId: string;
}

const COLUMNS = 'other_id::text as other_id, state, updated_at';

export class RelationStore {
  constructor(private readonly db: Database) {}

  /** Takes both players' locks until the transaction ends. */
  async lockPlayers(tx: Queryable, a: string, b: string): Promise<void> {
    const keys = [...new Set([BigInt(a) % FOLD, BigInt(b) % FOLD])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    for (const key of keys) await tx.query(`select pg_advisory_xact_lock(${LOCK_CLASS}, $1::int)`, [String(key)]);
  }

  /** The row `player` holds about `other`, inside `tx`. */
  async rowIn(tx: Queryable, player: string, other: string): Promise<RelationRow | undefined> {
    const [row] = await tx.query<RelationRow>(`select ${COLUMNS} from friend_relations where player_id = $1 and other_id = $2`, [player, other]);
    return row;
  }

  async countsIn(tx: Queryable, player: string): Promise<OwnCounts> {
    const [row] = await tx.query<{ friends_and_sent: number; received: number; blocked: number }>(
      `select count(*) filter (where state in ('friend', 'invite_sent'))::int as friends_and_sent,
              count(*) filter (where state = 'invite_received')::int as received,
              count(*) filter (where state = 'blocked')::int as blocked
         from friend_relations where player_id = $1`,
      [player],
    );
    return { friendsAndSent: Number(row?.friends_and_sent ?? 0), received: Number(row?.received ?? 0), blocked: Number(row?.blocked ?? 0) };
  }

  /** Sets the relation `player` holds about `other` (inserted or replaced), with a fresh updated_at. */
  async setIn(tx: Queryable, scope: ProjectScope, player: string, other: string, state: RelationState): Promise<RelationRow> {
    const [row] = await tx.query<RelationRow>(
      `insert into friend_relations (tenant_id, project_id, player_id, other_id, state)
       values ($1, $2, $3, $4, $5)
       on conflict (tenant_id, project_id, player_id, other_id) do update set state = excluded.state, updated_at = now()
       returning ${COLUMNS}`,
      [...scopeParams(scope), player, other, state],
    );
    return row!;
  }

  async removeIn(tx: Queryable, player: string, other: string): Promise<void> {
    await tx.query('delete from friend_relations where player_id = $1 and other_id = $2', [player, other]);
  }

  async get(scope: ProjectScope, player: string, other: string): Promise<RelationRow | undefined> {
    const [row] = await this.db.tenantQuery<RelationRow>(scope, `select ${COLUMNS} from friend_relations where player_id = $1 and other_id = $2`, [player, other]);
    return row;
  }

  /** A page of a player's relations after `after`, by state rank then the other id byte-wise. */
  list(scope: ProjectScope, player: string, state: RelationState | undefined, after: ListPosition | undefined, limit: number): Promise<RelationRow[]> {
    const params: (string | number)[] = [player, limit];
    let where = 'player_id = $1';
    if (state !== undefined) {
      params.push(rankOf(state));
      where += ` and state_rank = $${params.length}`;
    }
    if (after !== undefined) {
      params.push(after.rank, after.otherId);
      where += ` and (state_rank, other_id::text collate "C") > ($${params.length - 1}::smallint, $${params.length}::text collate "C")`;
    }
    return this.db.tenantQuery<RelationRow>(
      scope,
      `select ${COLUMNS} from friend_relations where ${where} order by state_rank, other_id::text collate "C" limit $2`,
      params,
    );
  }

  /** The players `player` holds a row of this state about. */
  async othersIn(scope: ProjectScope, player: string, state: RelationState): Promise<string[]> {
    const rows = await this.db.tenantQuery<{ id: string }>(
      scope,
      'select other_id::text as id from friend_relations where player_id = $1 and state = $2 order by other_id',
      [player, state],
    );
    return rows.map((row) => String(row.id));
  }

  /** The players holding a row of this state about `player` (the reverse side). */
  async holdersOf(scope: ProjectScope, player: string, state: RelationState): Promise<string[]> {
    const rows = await this.db.tenantQuery<{ id: string }>(
      scope,
      'select player_id::text as id from friend_relations where other_id = $1 and state = $2 order by player_id',
      [player, state],
    );
    return rows.map((row) => String(row.id));
  }

  /** Both rows of a pair (a about b, b about a), in one statement. */
  async pair(scope: ProjectScope, a: string, b: string): Promise<{ ab: RelationState | undefined; ba: RelationState | undefined }> {
    const rows = await this.db.tenantQuery<{ player_id: string; state: RelationState }>(
      scope,
      `select player_id::text as player_id, state from friend_relations
        where (player_id = $1 and other_id = $2) or (player_id = $2 and other_id = $1)`,
      [a, b],
    );
    return { ab: rows.find((row) => String(row.player_id) === a)?.state, ba: rows.find((row) => String(row.player_id) === b)?.state };
  }
}
