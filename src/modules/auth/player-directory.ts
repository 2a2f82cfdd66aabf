/**
 * Other modules' view of a project's players: who exists, and under which username. Read inside the
 * project's own scope (RLS), so a player of another project is simply unknown.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Database, Queryable } from '../../internal/db/database.js';

export interface PlayerSummary {
  id: string;
  username: string | null;
}

/** The most ids one lookup takes (callers bound their own inputs well below it). */
const MAX_IDS = 1_000;
const PLAYER_ID = /^[1-9][0-9]{0,17}$/;

export class PlayerDirectory {
  constructor(private readonly db: Database) {}

  /** The players among `ids` that exist in the project, with their usernames (missing ones are absent). */
  async find(scope: ProjectScope, ids: readonly string[], tx?: Queryable): Promise<Map<string, PlayerSummary>> {
    // Ids come from validated input; anything that is not one cannot name a player.
    const unique = [...new Set(ids)].filter((id) => PLAYER_ID.test(id));
    if (unique.length === 0) return new Map();
    if (unique.length > MAX_IDS) throw new RangeError(`at most ${MAX_IDS} players per lookup`);
    const sql = 'select id, username from players where id = any($1::bigint[])';
    const params = [`{${unique.join(',')}}`];
    const rows = tx ? await tx.query<{ id: string; username: string | null }>(sql, params) : await this.db.tenantQuery<{ id: string; username: string | null }>(scope, sql, params);
    return new Map(rows.map((row) => [String(row.id), { id: String(row.id), username: row.username }]));
  }

  async get(scope: ProjectScope, id: string, tx?: Queryable): Promise<PlayerSummary | undefined> {
    return (await this.find(scope, [id], tx)).get(id);
  }

  /** Usernames are unique per project, compared case-insensitively. */
  async byUsername(scope: ProjectScope, username: string): Promise<PlayerSummary | undefined> {
    const [row] = await this.db.tenantQuery<{ id: string; username: string | null }>(
      scope,
      'select id, username from players where lower(username) = lower($1)',
      [username],
    );
    return row ? { id: String(row.id), username: row.username } : undefined;
  }
}
