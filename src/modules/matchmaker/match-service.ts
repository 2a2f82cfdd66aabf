/**
 * From a held group to a running match: its game server allocated through the fleet service (retried while
 * no server is ready, for up to MATCHMAKER_ALLOCATION_TIMEOUT_SECONDS), then the match stored with its
 * tickets matched and the players' `ggscale.match_found` notifications, then `matchmaker.matched` with a match
 * token to every player. And the match as players and secret keys read it.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { AppError, notFound } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AuthApi } from '../auth/api.js';
import type { FleetApi, MatchServer } from '../fleet/api.js';
import type { NotificationsApi } from '../notifications/api.js';
import type { RealtimeApi } from '../realtime/api.js';
import type { MatchmakerConfig } from './config.js';
import type { HeldMatch, MatchRow, MatchStore } from './match-store.js';
import type { MatchmakerMetrics } from './metrics.js';
import type { Pool } from './pool.js';
import type { Ticket } from './ticket.js';
import type { TicketCaller } from './ticket-service.js';

export const MATCHED_EVENT = 'matchmaker.matched';

export interface Match {
  id: string;
  pool: string;
  region: string;
  allocation_id: string | null;
  address: string | null;
  ports: MatchServer['ports'];
  teams: { index: number; players: { player_id: string; username: string | null; ticket_id: string }[] }[];
  properties: Record<string, string | number | null>;
  created_at: string;
  ended_at: string | null;
}

export interface MatchServiceDeps {
  store: MatchStore;
  fleet: FleetApi;
  auth: AuthApi;
  notifications: NotificationsApi;
  realtime: RealtimeApi;
  config: MatchmakerConfig;
  logger: Logger;
  metrics: MatchmakerMetrics;
  /** Tells a ticket's players of its new state (tickets expired with their pool's fleet). */
  announce: (scope: ProjectScope, ticket: Ticket) => void;
}

export type AllocationOutcome = 'matched' | 'retry' | 'dissolved' | 'fleet-missing';

export class MatchService {
  constructor(private readonly deps: MatchServiceDeps) {}

  /** One allocation attempt for a held group. */
  async allocate(scope: ProjectScope, pool: Pool, group: HeldMatch & { expired: boolean }): Promise<AllocationOutcome> {
    const outcome = await this.attempt(scope, pool, group);
    this.deps.metrics.allocation(outcome);
    return outcome;
  }

  private async attempt(scope: ProjectScope, pool: Pool, group: HeldMatch & { expired: boolean }): Promise<AllocationOutcome> {
    const { store, fleet } = this.deps;
    if (group.expired) {
      await store.dissolve(scope, group.id);
      return 'dissolved';
    }
    let server: MatchServer;
    try {
      server = await fleet.allocateForMatch(scope, {
        fleet: pool.fleet,
        selector: { ...pool.allocation_labels, ...(pool.region_label === null ? {} : { [pool.region_label]: group.region }) },
        matchId: group.id,
        poolId: pool.id,
        teams: group.teams.map((team) => team.players.map((player) => player.player_id)),
      });
    } catch (error) {
      return this.failed(scope, pool, group, error);
    }
    const finished = await store.finish(scope, group.id, server, (tx, _match, tickets) =>
      this.deps.notifications.store(
        tx,
        scope,
        tickets.flatMap((ticket) =>
          ticket.players.map((playerId) => ({
            playerId,
            code: 'ggscale.match_found',
            subject: 'Match found',
            content: { match_id: group.id, ticket_id: ticket.id, pool: pool.id },
            senderId: null,
          })),
        ),
      ),
    );
    if (finished === 'done') return 'matched';
    if (finished === 'dissolved') {
      // Dissolved while the server was being allocated (a ticket was cancelled): the server goes back.
      await fleet.release(scope, server.allocationId).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'matchmaker: could not release a dissolved match'));
      return 'dissolved';
    }
    this.deps.metrics.matchesFormed.inc();
    for (const ticket of finished.tickets) this.deps.metrics.timeToMatch.observe(Math.max(0, Date.now() - Date.parse(ticket.created_at)) / 1000);
    await finished.after().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'matchmaker: could not deliver match notifications'));
    await this.tellPlayers(scope, finished.match, finished.tickets);
    return 'matched';
  }

  private async failed(scope: ProjectScope, pool: Pool, group: HeldMatch, error: unknown): Promise<AllocationOutcome> {
    const slug = error instanceof AppError ? error.slug : undefined;
    if (slug === 'unavailable' || slug === 'quota-exceeded' || slug === 'conflict') {
      // No server ready, max_allocations reached, or the same allocation still in flight: held, retried later.
      const retryAfter = (error as AppError).retryAfterSeconds ?? 1;
      await this.deps.store.retryAt(scope, group.id, Math.max(1, retryAfter));
      return 'retry';
    }
    if (slug === 'not-found') {
      for (const ticket of await this.deps.store.expirePool(scope, pool.id, 'fleet-missing')) this.deps.announce(scope, ticket);
      return 'fleet-missing';
    }
    this.deps.logger.warn({ err: error, match_id: group.id }, 'matchmaker: an allocation failed; the group is dissolved');
    await this.deps.store.dissolve(scope, group.id);
    return 'dissolved';
  }

  /** Every player gets the match, with a match token of its own. */
  private async tellPlayers(scope: ProjectScope, row: MatchRow, tickets: Ticket[]): Promise<void> {
    const match = await this.view(scope, row);
    await Promise.all(
      tickets.flatMap((ticket) =>
        ticket.players.map(async (playerId) => {
          const { token, expiresAt } = await this.token(scope, row, playerId);
          await this.deps.realtime.toPlayers(scope, [playerId], {
            op: MATCHED_EVENT,
            ticket_id: ticket.id,
            match,
            token,
            token_expires_at: expiresAt.toISOString(),
          });
        }),
      ),
    ).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'matchmaker: could not send matchmaker.matched'));
  }

  /** A match token for a player of the match (its team from the match's teams). */
  async token(scope: ProjectScope, row: MatchRow, playerId: string): Promise<{ token: string; expiresAt: Date }> {
    const team = row.teams.find((candidate) => candidate.players.some((player) => player.player_id === playerId))?.index ?? 0;
    return this.deps.auth.matchTokens.sign(
      { tenantId: scope.tenantId, projectId: scope.projectId, playerId, matchId: String(row.id), team, allocationId: String(row.allocation_id) },
      this.deps.config.matchTokenTtlSeconds,
    );
  }

  /** The match, to a player of it or a secret key. */
  async get(scope: ProjectScope, caller: TicketCaller, id: string): Promise<Match> {
    const row = await this.current(scope, id);
    if (!row || (caller.kind === 'player' && !row.teams.some((team) => team.players.some((player) => player.player_id === caller.playerId)))) {
      throw notFound(`No match ${id}.`);
    }
    return this.view(scope, row);
  }

  /** A matched ticket as one of its players reads it: with the match, and a fresh token while its server lives. */
  async forTicket(scope: ProjectScope, playerId: string, ticket: Ticket): Promise<Ticket & { match?: Match; token?: string; token_expires_at?: string }> {
    if (ticket.state !== 'matched' || ticket.match_id === null) return ticket;
    const row = await this.current(scope, ticket.match_id);
    if (!row) return ticket;
    if (row.ended_at !== null) return { ...ticket, match: await this.view(scope, row) };
    const { token, expiresAt } = await this.token(scope, row, playerId);
    return { ...ticket, match: await this.view(scope, row), token, token_expires_at: expiresAt.toISOString() };
  }

  /** The match, with `ended_at` set once its allocation has ended (read from the fleet while it is unset). */
  private async current(scope: ProjectScope, id: string): Promise<MatchRow | undefined> {
    const row = await this.deps.store.get(scope, id);
    if (!row || row.ended_at !== null || row.allocation_id === null) return row;
    const endedAt = await this.deps.fleet.allocationEndedAt(scope, String(row.allocation_id));
    if (endedAt === null) return row;
    await this.deps.store.markEnded(scope, String(row.id), endedAt);
    return { ...row, ended_at: endedAt };
  }

  private async view(scope: ProjectScope, row: MatchRow): Promise<Match> {
    const ids = row.teams.flatMap((team) => team.players.map((player) => player.player_id));
    const players = await this.deps.auth.players.find(scope, ids);
    return {
      id: String(row.id),
      pool: row.pool_id,
      region: row.region,
      allocation_id: row.allocation_id === null ? null : String(row.allocation_id),
      address: row.address,
      ports: row.ports,
      teams: row.teams.map((team) => ({
        index: team.index,
        players: team.players.map((player) => ({ ...player, username: players.get(player.player_id)?.username ?? null })),
      })),
      properties: row.properties,
      created_at: new Date(row.created_at).toISOString(),
      ended_at: row.ended_at === null ? null : new Date(row.ended_at).toISOString(),
    };
  }
}
