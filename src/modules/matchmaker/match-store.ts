/**
 * The SQL of the matcher. A pool's pass runs in one transaction that first takes the pool's advisory lock
 * (try: a node that does not get it skips the pool), so one node at a time forms a pool's matches, on
 * PostgreSQL and on the embedded database alike, and a stopped node holds nothing. Each formed group becomes a
 * `held` match whose tickets are claimed with a compare-and-set (still searching, not held): a ticket joins at
 * most one group however many nodes run. Once the group's server is allocated, one transaction makes the match
 * `ready`, its tickets `matched`, and stores the players' notifications.
 */
import type { Database, Queryable } from '../../internal/db/database.js';
import { bigintArray, scopeParams } from '../../internal/db/database.js';
import type { ProjectScope } from '../../http/auth-context.js';
import type { MatchServer } from '../fleet/api.js';
import type { FormedMatch, SearchingTicket } from './forming.js';
import { TICKET_COLUMNS, toTicket, type Ticket, type TicketRow } from './ticket.js';
import { endTickets } from './ticket-store.js';

/** A pool that has searching tickets or held groups due for an allocation attempt. */
export interface PoolWork {
  scope: ProjectScope;
  poolId: string;
}

export interface StoredTeam {
  index: number;
  players: { player_id: string; ticket_id: string }[];
}

export interface HeldMatch {
  id: string;
  region: string;
  teams: StoredTeam[];
}

export interface MatchRow {
  id: string;
  pool_id: string;
  state: 'held' | 'ready' | 'dissolved';
  region: string;
  teams: StoredTeam[];
  properties: Record<string, string | number | null>;
  allocation_id: string | null;
  address: string | null;
  ports: MatchServer['ports'];
  created_at: Date | string;
  ended_at: Date | string | null;
}

const MATCH_COLUMNS = 'id, pool_id, state, region, teams, properties, allocation_id, address, ports, created_at, ended_at';

/** Tickets read per pass and pool at most (the oldest; the rest wait for a later pass). */
const TICKETS_PER_PASS = 20_000;

export class MatchStore {
  constructor(private readonly db: Database) {}

  /** Pools with searching tickets not in a group, or with held groups due for another attempt (operator path). */
  async poolsWithWork(): Promise<PoolWork[]> {
    const rows = await this.db.operator('matchmaker: pools with work', (tx) =>
      tx.query<{ tenant_id: string; project_id: string; pool_id: string }>(
        `select tenant_id, project_id, pool_id from matchmaker_tickets where state = 'searching' and held_by is null
         union
         select tenant_id, project_id, pool_id from matchmaker_matches where state = 'held' and retry_at <= now()`,
      ),
    );
    return rows.map((row) => ({ scope: { tenantId: String(row.tenant_id), projectId: String(row.project_id) }, poolId: row.pool_id }));
  }

  /**
   * Runs `form` over the pool's searching tickets under the pool's advisory lock, and holds each group it
   * answers; resolves to the groups held, or undefined when another node holds the pool now.
   */
  async formAndHold(
    scope: ProjectScope,
    poolId: string,
    allocationTimeoutSeconds: number,
    form: (tickets: SearchingTicket[], nowMs: number) => FormedMatch[],
  ): Promise<HeldMatch[] | undefined> {
    return this.db.withTenant(scope, async (tx) => {
      const [lock] = await tx.query<{ held: boolean }>(
        "select pg_try_advisory_xact_lock(hashtextextended('matchmaker-pass:' || $1 || ':' || $2 || ':' || $3, 0)) as held",
        [...scopeParams(scope), poolId],
      );
      if (!lock?.held) return undefined;
      const [clock] = await tx.query<{ now: Date }>('select now() as now');
      const rows = await tx.query<TicketRow>(
        `select ${TICKET_COLUMNS} from matchmaker_tickets where tenant_id = $1 and project_id = $2 and pool_id = $3 and state = 'searching' and held_by is null
          order by created_at, id limit $4`,
        [...scopeParams(scope), poolId, TICKETS_PER_PASS],
      );
      const searching = rows.map(toTicket).map(
        (ticket): SearchingTicket => ({
          id: ticket.id,
          createdAtMs: Date.parse(ticket.created_at),
          players: ticket.players,
          skill: ticket.skill,
          regions: ticket.regions,
          properties: ticket.properties,
        }),
      );
      return this.hold(tx, scope, poolId, form(searching, new Date(clock!.now).getTime()), allocationTimeoutSeconds);
    });
  }

  /**
   * Makes each group a held match and claims its tickets by compare-and-set (all of a group's or none), in a
   * fixed number of statements per pass however many groups formed: one insert, one claim, and only when a
   * ticket changed meanwhile, one undo of the groups it broke.
   */
  private async hold(tx: Queryable, scope: ProjectScope, poolId: string, groups: FormedMatch[], timeoutSeconds: number): Promise<HeldMatch[]> {
    if (groups.length === 0) return [];
    const formed = groups.map((group) => {
      const ticketOf = new Map(group.tickets.map((ticket) => [ticket.id, ticket]));
      const teams: StoredTeam[] = group.teams.map((team) => ({
        index: team.index,
        players: team.ticketIds.flatMap((ticketId) => ticketOf.get(ticketId)!.players.map((player_id) => ({ player_id, ticket_id: ticketId }))),
      }));
      return { group, teams };
    });
    // Rows are inserted in `ord` order, and the identity takes its values in the order rows are inserted, so
    // the ids sorted ascending are the groups' ids in input order (whatever order RETURNING answers them in).
    const inserted = await tx.query<{ id: string }>(
      `insert into matchmaker_matches (tenant_id, project_id, pool_id, state, region, teams, properties, allocate_until)
       select $1, $2, $3, 'held', g.doc->>'region', g.doc->'teams', g.doc->'properties', now() + make_interval(secs => $4)
         from jsonb_array_elements($5::jsonb) with ordinality as g(doc, ord)
        order by g.ord
       returning id`,
      [
        ...scopeParams(scope),
        poolId,
        timeoutSeconds,
        JSON.stringify(formed.map(({ group, teams }) => ({ region: group.region, teams, properties: group.properties }))),
      ],
    );
    const ids = inserted.map((row) => BigInt(row.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
    const ticketIds = formed.flatMap(({ group }) => group.tickets.map((ticket) => ticket.id));
    const matchIds = formed.flatMap(({ group }, index) => group.tickets.map(() => ids[index]!));
    const claimed = await tx.query<{ match_id: string; n: number }>(
      `with claimed as (
         update matchmaker_tickets t set held_by = w.match_id
           from unnest($3::bigint[], $4::bigint[]) as w(ticket_id, match_id)
          where t.tenant_id = $1 and t.project_id = $2 and t.id = w.ticket_id and t.state = 'searching' and t.held_by is null
         returning t.held_by)
       select held_by as match_id, count(*)::int as n from claimed group by held_by`,
      [...scopeParams(scope), bigintArray(ticketIds), bigintArray(matchIds)],
    );
    const claimedCount = new Map(claimed.map((row) => [String(row.match_id), Number(row.n)]));
    const held: HeldMatch[] = [];
    const broken: string[] = [];
    formed.forEach(({ group, teams }, index) => {
      const id = ids[index]!;
      if (claimedCount.get(id) === group.tickets.length) held.push({ id, region: group.region, teams });
      else broken.push(id);
    });
    if (broken.length > 0) {
      // A ticket ended or was claimed meanwhile: those groups are not matches; their other tickets search on.
      await tx.query('update matchmaker_tickets set held_by = null where tenant_id = $1 and project_id = $2 and held_by = any($3::bigint[])', [
        ...scopeParams(scope),
        bigintArray(broken),
      ]);
      await tx.query('delete from matchmaker_matches where tenant_id = $1 and project_id = $2 and id = any($3::bigint[])', [...scopeParams(scope), bigintArray(broken)]);
    }
    return held;
  }

  /** Held groups of the pool due for an allocation attempt (their retry time has come). */
  async dueHeld(scope: ProjectScope, poolId: string): Promise<(HeldMatch & { expired: boolean })[]> {
    const rows = await this.db.tenantQuery<{ id: string; region: string; teams: StoredTeam[]; expired: boolean }>(
      scope,
      `select id, region, teams, allocate_until <= now() as expired from matchmaker_matches
        where tenant_id = $1 and project_id = $2 and pool_id = $3 and state = 'held' and retry_at <= now() order by id`,
      [...scopeParams(scope), poolId],
    );
    return rows.map((row) => ({ id: String(row.id), region: row.region, teams: row.teams, expired: row.expired }));
  }

  async retryAt(scope: ProjectScope, matchId: string, afterSeconds: number): Promise<void> {
    await this.db.tenantQuery(
      scope,
      "update matchmaker_matches set retry_at = now() + make_interval(secs => $4) where tenant_id = $1 and project_id = $2 and id = $3 and state = 'held'",
      [...scopeParams(scope), matchId, afterSeconds],
    );
  }

  /** The group is not a match: its tickets search again, keeping their age. */
  async dissolve(scope: ProjectScope, matchId: string): Promise<void> {
    await this.db.withTenant(scope, async (tx) => {
      await tx.query("update matchmaker_matches set state = 'dissolved', ended_at = now() where tenant_id = $1 and project_id = $2 and id = $3 and state = 'held'", [
        ...scopeParams(scope),
        matchId,
      ]);
      await tx.query("update matchmaker_tickets set held_by = null where tenant_id = $1 and project_id = $2 and held_by = $3 and state = 'searching'", [
        ...scopeParams(scope),
        matchId,
      ]);
    });
  }

  /** The pool's fleet is gone: its held groups dissolve and its searching tickets expire (fleet-missing). */
  async expirePool(scope: ProjectScope, poolId: string, reason: 'fleet-missing' | 'plan-limit'): Promise<Ticket[]> {
    return this.db.withTenant(scope, async (tx) => {
      const rows = await tx.query<{ id: string }>(
        "select id from matchmaker_tickets where tenant_id = $1 and project_id = $2 and pool_id = $3 and state = 'searching'",
        [...scopeParams(scope), poolId],
      );
      return endTickets(tx, scope, rows.map((row) => String(row.id)), 'expired', reason);
    });
  }

  /**
   * Makes the held group a match on its server: the match `ready`, its tickets `matched`, and `inTx` (the
   * players' notifications) in the same transaction. 'dissolved' when the group was dissolved meanwhile (a
   * ticket cancelled): the caller releases the server. 'done' when another node made it a match already.
   */
  async finish<T>(
    scope: ProjectScope,
    matchId: string,
    server: MatchServer,
    inTx: (tx: Queryable, match: MatchRow, tickets: Ticket[]) => Promise<T>,
  ): Promise<{ match: MatchRow; tickets: Ticket[]; after: T } | 'dissolved' | 'done'> {
    return this.db.withTenant(scope, async (tx) => {
      const [match] = await tx.query<MatchRow>(
        `update matchmaker_matches set state = 'ready', allocation_id = $4, address = $5, ports = $6::jsonb
          where tenant_id = $1 and project_id = $2 and id = $3 and state = 'held' returning ${MATCH_COLUMNS}`,
        [...scopeParams(scope), matchId, server.allocationId, server.address, JSON.stringify(server.ports)],
      );
      if (!match) {
        // Another node finished it first (the allocation it got back is the same, by its Idempotency-Key): done.
        const [now] = await tx.query<{ state: string }>('select state from matchmaker_matches where tenant_id = $1 and project_id = $2 and id = $3', [
          ...scopeParams(scope),
          matchId,
        ]);
        return now?.state === 'ready' ? 'done' : 'dissolved';
      }
      const rows = await tx.query<TicketRow>(
        `update matchmaker_tickets set state = 'matched', match_id = $3, held_by = null
          where tenant_id = $1 and project_id = $2 and held_by = $3 and state = 'searching' returning ${TICKET_COLUMNS}`,
        [...scopeParams(scope), matchId],
      );
      const tickets = rows.map(toTicket);
      await tx.query('update matchmaker_ticket_players set active = false where tenant_id = $1 and project_id = $2 and ticket_id = any($3::bigint[]) and active', [
        ...scopeParams(scope),
        bigintArray(tickets.map((ticket) => ticket.id)),
      ]);
      return { match, tickets, after: await inTx(tx, match, tickets) };
    });
  }

  /** The match's server is gone: it ended then (once; a later call changes nothing). */
  async markEnded(scope: ProjectScope, matchId: string, endedAt: string): Promise<void> {
    await this.db.tenantQuery(scope, 'update matchmaker_matches set ended_at = $4 where tenant_id = $1 and project_id = $2 and id = $3 and ended_at is null', [
      ...scopeParams(scope),
      matchId,
      endedAt,
    ]);
  }

  async get(scope: ProjectScope, matchId: string): Promise<MatchRow | undefined> {
    const [row] = await this.db.tenantQuery<MatchRow>(
      scope,
      `select ${MATCH_COLUMNS} from matchmaker_matches where tenant_id = $1 and project_id = $2 and id = $3 and state = 'ready'`,
      [...scopeParams(scope), matchId],
    );
    return row;
  }
}
