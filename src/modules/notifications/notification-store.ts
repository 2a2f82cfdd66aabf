/**
 * The notifications table on the request path, through RLS: every statement runs in the project's scope,
 * so another project's rows are simply not there.
 *
 * Ordering. A player's notifications are listed, and cursors positioned, by id. Ids come from one sequence
 * and are drawn inside the sending transaction, so two transactions could commit out of id order; a reader
 * between the two commits would then move its cursor past an id that commits later. Sends to one player
 * therefore take a transaction-level advisory lock per player (in id order, so batches never deadlock)
 * before they draw ids: a player's ids grow in commit order, and a cursor past one never skips another.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { bigintArray, scopeParams, type Database, type Queryable } from '../../internal/db/database.js';
import type { CheckedNotification } from './new-notification.js';

/** The advisory lock class of a player's notifications (two-key form: this, and the player id folded to int4). */
const LOCK_CLASS = 0x6e6f7469;

export interface NotificationRow {
  id: string;
  code: string;
  subject: string;
  content: Record<string, unknown>;
  sender_id: string | null;
  collapse_key: string | null;
  created_at: Date;
}

export interface WrittenId {
  id: string;
  createdAt: Date;
}

const COLUMNS = 'id::text as id, code, subject, content, sender_id::text as sender_id, collapse_key, created_at';

const byNumber = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
const collapseGroup = (item: CheckedNotification) => JSON.stringify([item.playerId, item.code, item.collapseKey]);

export class NotificationStore {
  constructor(private readonly db: Database) {}

  /**
   * Stores `items` (persistent ones) inside `tx` and answers each one's id, in order. A collapse key first
   * deletes the player's stored notification with the same code and key (and of several such items in one
   * batch only the last is kept: the earlier ones are replaced at once). Then each player written keeps its
   * newest `maxPerPlayer`.
   */
  async write(tx: Queryable, scope: ProjectScope, items: readonly CheckedNotification[], maxPerPlayer: number): Promise<WrittenId[]> {
    if (items.length === 0) return [];
    const players = [...new Set(items.map((item) => item.playerId))].sort(byNumber);
    await tx.query(`select count(pg_advisory_xact_lock(${LOCK_CLASS}, (p % 2147483647)::int))::int as n from unnest($1::bigint[]) as p`, [
      bigintArray(players),
    ]);

    const collapsing = items.filter((item) => item.collapseKey !== null);
    if (collapsing.length > 0) {
      await tx.query(
        `delete from notifications n
          using jsonb_to_recordset($1::text::jsonb) as c(player_id bigint, code text, collapse_key text)
          where n.player_id = c.player_id and n.code = c.code and n.collapse_key = c.collapse_key`,
        [JSON.stringify(collapsing.map((item) => ({ player_id: item.playerId, code: item.code, collapse_key: item.collapseKey })))],
      );
    }

    // Drawn after the locks, in item order: a batch's notifications are listed in the order they were given.
    const drawn = await tx.query<{ id: string; created_at: Date }>(
      `select nextval('notification_id_seq')::text as id, now() as created_at from generate_series(1, $1::int)`,
      [items.length],
    );
    const ids = drawn.map((row) => String(row.id)).sort(byNumber);
    const createdAt = new Date(drawn[0]!.created_at);

    const kept = new Set<string>();
    const rows = [];
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.collapseKey !== null) {
        if (kept.has(collapseGroup(item))) continue;
        kept.add(collapseGroup(item));
      }
      rows.push({
        player_id: item.playerId,
        id: ids[i],
        code: item.code,
        subject: item.subject,
        content: item.content,
        sender_id: item.senderId,
        collapse_key: item.collapseKey,
      });
    }
    await tx.query(
      `insert into notifications (tenant_id, project_id, player_id, id, code, subject, content, sender_id, collapse_key)
       select $1::bigint, $2::bigint, r.player_id, r.id, r.code, r.subject, r.content, r.sender_id, r.collapse_key
         from jsonb_to_recordset($3::text::jsonb)
           as r(player_id bigint, id bigint, code text, subject text, content jsonb, sender_id bigint, collapse_key text)`,
      [...scopeParams(scope), JSON.stringify(rows.reverse())],
    );

    // The cap: each player written keeps its newest maxPerPlayer (one index probe per player).
    await tx.query(
      `delete from notifications n
        using (select p.player_id,
                      (select x.id from notifications x where x.player_id = p.player_id order by x.id desc offset $2 limit 1) as cutoff
                 from unnest($1::bigint[]) as p(player_id)) c
        where n.player_id = c.player_id and n.id <= c.cutoff`,
      [bigintArray(players), maxPerPlayer],
    );
    return ids.map((id) => ({ id, createdAt }));
  }

  /** A player's notifications after `afterId`, oldest first. */
  list(scope: ProjectScope, playerId: string, afterId: string, limit: number): Promise<NotificationRow[]> {
    return this.db.tenantQuery<NotificationRow>(
      scope,
      `select ${COLUMNS} from notifications where player_id = $1 and id > $2 order by id limit $3`,
      [playerId, afterId, limit],
    );
  }

  async remove(scope: ProjectScope, playerId: string, id: string): Promise<boolean> {
    const rows = await this.db.tenantQuery(scope, 'delete from notifications where player_id = $1 and id = $2 returning 1 as deleted', [playerId, id]);
    return rows.length > 0;
  }

  /** The player's notifications no connection was sent on connect yet, oldest first. */
  undelivered(scope: ProjectScope, playerId: string, limit: number): Promise<NotificationRow[]> {
    return this.db.tenantQuery<NotificationRow>(
      scope,
      `select ${COLUMNS} from notifications where player_id = $1 and delivered_at is null order by id limit $2`,
      [playerId, limit],
    );
  }

  async countUndelivered(scope: ProjectScope, playerId: string): Promise<number> {
    const [row] = await this.db.tenantQuery<{ n: number }>(
      scope,
      'select count(*)::int as n from notifications where player_id = $1 and delivered_at is null',
      [playerId],
    );
    return Number(row?.n ?? 0);
  }

  async markDelivered(scope: ProjectScope, playerId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.tenantQuery(
      scope,
      'update notifications set delivered_at = now() where player_id = $1 and id = any($2::bigint[]) and delivered_at is null',
      [playerId, bigintArray(ids)],
    );
  }
}
