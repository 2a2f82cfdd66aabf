/**
 * The SQL of tickets. A ticket's players each get a row in matchmaker_ticket_players, active while the ticket
 * is: its unique index is what refuses a player a second active ticket, whatever the number of nodes. Ending
 * a ticket also ends the held group it was in (a cancel while its server is being allocated), and frees the
 * group's other tickets to search again.
 */
import type { Database, Queryable } from '../../internal/db/database.js';
import { bigintArray, scopeParams } from '../../internal/db/database.js';
import { isUniqueViolation, sqlState } from '../../internal/db/errors.js';
import type { ProjectScope } from '../../http/auth-context.js';
import { TICKET_COLUMNS, toTicket, type EndedReason, type Properties, type Ticket, type TicketRow, type TicketState } from './ticket.js';

export interface NewTicket {
  poolId: string;
  players: string[];
  partyId: string | null;
  skill: number;
  regions: string[];
  properties: Properties;
  maxWaitSeconds: number;
}

export type CreateTicketOutcome = { ticket: Ticket } | { busy: string | null } | { unknownPlayer: true };

/** A ticket ended by a sweep across tenants, with where it lives. */
export interface EndedTicket {
  scope: ProjectScope;
  ticket: Ticket;
}

/** The ticket columns of the table aliased `t`. */
const T_COLUMNS = TICKET_COLUMNS.split(', ').map((column) => `t.${column}`).join(', ');

/** Ends searching tickets (by id) in one statement; answers what ended. Runs inside the caller's transaction. */
export async function endTickets(tx: Queryable, scope: ProjectScope, ids: readonly string[], state: 'cancelled' | 'expired', reason: EndedReason): Promise<Ticket[]> {
  if (ids.length === 0) return [];
  const ended = await tx.query<TicketRow & { held_was: string | null }>(
    `with old as (
       select id, held_by from matchmaker_tickets
        where tenant_id = $1 and project_id = $2 and id = any($3::bigint[]) and state = 'searching' for update)
     update matchmaker_tickets t set state = $4, ended_reason = $5, ended_at = now(), held_by = null
       from old
      where t.tenant_id = $1 and t.project_id = $2 and t.id = old.id
     returning ${T_COLUMNS}, old.held_by as held_was`,
    [...scopeParams(scope), bigintArray(ids), state, reason],
  );
  if (ended.length === 0) return [];
  await tx.query('update matchmaker_ticket_players set active = false where tenant_id = $1 and project_id = $2 and ticket_id = any($3::bigint[]) and active', [
    ...scopeParams(scope),
    bigintArray(ended.map((row) => String(row.id))),
  ]);
  const groups = [...new Set(ended.flatMap((row) => (row.held_was === null ? [] : [String(row.held_was)])))];
  if (groups.length > 0) {
    // The group cannot be a match without this ticket: dissolve it; its other tickets search again, keeping their age.
    await tx.query(
      `update matchmaker_matches set state = 'dissolved', ended_at = now() where tenant_id = $1 and project_id = $2 and id = any($3::bigint[]) and state = 'held'`,
      [...scopeParams(scope), bigintArray(groups)],
    );
    await tx.query(`update matchmaker_tickets set held_by = null where tenant_id = $1 and project_id = $2 and held_by = any($3::bigint[]) and state = 'searching'`, [
      ...scopeParams(scope),
      bigintArray(groups),
    ]);
  }
  return ended.map(toTicket);
}

export class TicketStore {
  constructor(private readonly db: Database) {}

  async create(scope: ProjectScope, input: NewTicket): Promise<CreateTicketOutcome> {
    try {
      return await this.db.withTenant(scope, async (tx) => {
        const [row] = await tx.query<TicketRow>(
          `insert into matchmaker_tickets (tenant_id, project_id, pool_id, state, players, party_id, skill, regions, properties, created_at, expires_at)
           values ($1, $2, $3, 'searching', $4::bigint[], $5, $6, $7::jsonb, $8::jsonb, now(), now() + make_interval(secs => $9))
           returning ${TICKET_COLUMNS}`,
          [
            ...scopeParams(scope),
            input.poolId,
            bigintArray(input.players),
            input.partyId,
            input.skill,
            JSON.stringify(input.regions),
            JSON.stringify(input.properties),
            input.maxWaitSeconds,
          ],
        );
        await tx.query(
          `insert into matchmaker_ticket_players (tenant_id, project_id, player_id, ticket_id) select $1, $2, p, $3 from unnest($4::bigint[]) as p`,
          [...scopeParams(scope), String(row!.id), bigintArray(input.players)],
        );
        return { ticket: toTicket(row!) };
      });
    } catch (error) {
      if (sqlState(error) === '23503') return { unknownPlayer: true };
      if (!isUniqueViolation(error)) throw error;
      return { busy: await this.activeTicketOf(scope, input.players) };
    }
  }

  /** The active ticket of any of these players (the one a second ticket collided with). */
  private async activeTicketOf(scope: ProjectScope, players: readonly string[]): Promise<string | null> {
    const [row] = await this.db.tenantQuery<{ ticket_id: string }>(
      scope,
      'select ticket_id from matchmaker_ticket_players where tenant_id = $1 and project_id = $2 and player_id = any($3::bigint[]) and active limit 1',
      [...scopeParams(scope), bigintArray(players)],
    );
    return row ? String(row.ticket_id) : null;
  }

  async get(scope: ProjectScope, id: string): Promise<Ticket | undefined> {
    const [row] = await this.db.tenantQuery<TicketRow>(scope, `select ${TICKET_COLUMNS} from matchmaker_tickets where tenant_id = $1 and project_id = $2 and id = $3`, [
      ...scopeParams(scope),
      id,
    ]);
    return row && toTicket(row);
  }

  /** A player's tickets, newest first, after the cursor's ticket id. */
  async listForPlayer(scope: ProjectScope, playerId: string, state: TicketState | undefined, beforeId: string | undefined, limit: number): Promise<Ticket[]> {
    const rows = await this.db.tenantQuery<TicketRow>(
      scope,
      `select ${T_COLUMNS}
         from matchmaker_ticket_players tp
         join matchmaker_tickets t on t.tenant_id = tp.tenant_id and t.project_id = tp.project_id and t.id = tp.ticket_id
        where tp.tenant_id = $1 and tp.project_id = $2 and tp.player_id = $3
          and ($4::text is null or t.state = $4::text) and ($5::bigint is null or tp.ticket_id < $5::bigint)
        order by tp.ticket_id desc limit $6`,
      [...scopeParams(scope), playerId, state ?? null, beforeId ?? null, limit],
    );
    return rows.map(toTicket);
  }

  /** Cancels a searching ticket; answers it as it is now either way (undefined: no such ticket). */
  async cancel(scope: ProjectScope, id: string): Promise<{ ticket: Ticket; changed: boolean } | undefined> {
    const [ended] = await this.db.withTenant(scope, (tx) => endTickets(tx, scope, [id], 'cancelled', 'cancelled'));
    if (ended) return { ticket: ended, changed: true };
    const ticket = await this.get(scope, id);
    return ticket && { ticket, changed: false };
  }

  /** Cancels the party's searching ticket and these players' own searching tickets; answers what ended. */
  async cancelForParty(scope: ProjectScope, partyId: string, players: readonly string[]): Promise<Ticket[]> {
    return this.db.withTenant(scope, async (tx) => {
      const rows = await tx.query<{ id: string }>(
        `select id from matchmaker_tickets where tenant_id = $1 and project_id = $2 and party_id = $3 and state = 'searching'
         union
         select ticket_id from matchmaker_ticket_players where tenant_id = $1 and project_id = $2 and player_id = any($4::bigint[]) and active`,
        [...scopeParams(scope), partyId, bigintArray(players)],
      );
      return endTickets(tx, scope, rows.map((row) => String(row.id)), 'cancelled', 'cancelled');
    });
  }

  /**
   * Expires up to `limit` searching tickets past expires_at, across tenants (a scheduler: the operator path).
   * Tickets in a held group wait for it to be allocated or dissolved.
   */
  async expireDue(limit: number): Promise<EndedTicket[]> {
    const due = await this.db.operator('matchmaker: tickets past their wait', (tx) =>
      tx.query<{ tenant_id: string; project_id: string; id: string }>(
        `select tenant_id, project_id, id from matchmaker_tickets where state = 'searching' and held_by is null and expires_at <= now()
          order by expires_at limit $1`,
        [limit],
      ),
    );
    const byProject = new Map<string, { scope: ProjectScope; ids: string[] }>();
    for (const row of due) {
      const key = `${String(row.tenant_id)}:${String(row.project_id)}`;
      const entry = byProject.get(key) ?? { scope: { tenantId: String(row.tenant_id), projectId: String(row.project_id) }, ids: [] };
      entry.ids.push(String(row.id));
      byProject.set(key, entry);
    }
    const ended: EndedTicket[] = [];
    for (const { scope, ids } of byProject.values()) {
      // Each project's tickets end in its own scope; a ticket cancelled meanwhile is skipped by the state check.
      const tickets = await this.db.withTenant(scope, (tx) => endTickets(tx, scope, ids, 'expired', 'max-wait'));
      ended.push(...tickets.map((ticket) => ({ scope, ticket })));
    }
    return ended;
  }
}
