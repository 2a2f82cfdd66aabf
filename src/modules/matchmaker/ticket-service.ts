/**
 * The rules of tickets: who may create one and for whom, where its skill comes from, which regions and
 * properties it may carry, who may read or cancel it; and the `matchmaker.ticket` event each of its players
 * gets at every change of its state.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { AppError, conflict, forbidden, notFound, validation } from '../../internal/errors/app-error.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { AuthApi } from '../auth/api.js';
import type { LeaderboardsApi } from '../leaderboards/api.js';
import type { PartiesApi, PartyChange } from '../parties/api.js';
import type { RealtimeApi } from '../realtime/api.js';
import { skillBoard, type Pool } from './pool.js';
import type { PoolService } from './pool-service.js';
import { oversizedProperty, TICKET_EVENT, type Properties, type Ticket, type TicketState } from './ticket.js';
import type { TicketStore } from './ticket-store.js';

/** Who asks: a player for itself (maybe for its party), or a secret key for named players. */
export type TicketCaller = { kind: 'player'; playerId: string } | { kind: 'secret' };

export interface TicketRequest {
  pool: string;
  skill?: number;
  regions: string[];
  properties?: Properties;
  party_id?: string;
  player_ids?: string[];
}

export interface TicketServiceDeps {
  store: TicketStore;
  pools: PoolService;
  players: AuthApi['players'];
  parties: PartiesApi;
  leaderboards: LeaderboardsApi;
  realtime: RealtimeApi;
  logger: Logger;
}

export class TicketService {
  constructor(private readonly deps: TicketServiceDeps) {}

  async create(scope: ProjectScope, caller: TicketCaller, request: TicketRequest): Promise<Ticket> {
    const pool = await this.deps.pools.get(scope, request.pool);
    const players = await this.playersOf(scope, caller, request);
    const limit = pool.team_size ?? pool.max_players;
    if (players.length > limit) throw validation(`The ticket has ${players.length} players; the pool takes at most ${limit} per ${pool.team_size ? 'team' : 'match'}.`);
    if (pool.regions) {
      const unknown = request.regions.find((region) => !pool.regions!.includes(region));
      if (unknown !== undefined) throw validation(`The pool does not serve the region "${unknown}" (it serves ${pool.regions.join(', ')}).`);
    }
    const oversized = oversizedProperty(request.properties);
    if (oversized !== undefined) throw validation(`The property "${oversized}" is over 64 bytes.`);
    const skill = await this.skillOf(scope, pool, caller, players, request.skill);
    const outcome = await this.deps.store.create(scope, {
      poolId: pool.id,
      players,
      partyId: request.party_id ?? null,
      skill,
      regions: request.regions,
      properties: request.properties ?? {},
      maxWaitSeconds: pool.max_wait_seconds,
    });
    if ('unknownPlayer' in outcome) throw notFound('A player of the ticket is not a player of the project.');
    if ('busy' in outcome) {
      throw new AppError('conflict', 'A player of the ticket already has a searching ticket.', { extensions: { ticket_id: outcome.busy } });
    }
    this.announce(scope, outcome.ticket);
    return outcome.ticket;
  }

  /** The ticket, if the caller may see it: a player on it, or a secret key of the project. */
  async get(scope: ProjectScope, caller: TicketCaller, id: string): Promise<Ticket> {
    const ticket = await this.deps.store.get(scope, id);
    if (!ticket || (caller.kind === 'player' && !ticket.players.includes(caller.playerId))) throw notFound(`No ticket ${id}.`);
    return ticket;
  }

  /** A player's tickets; a secret key naming a player who is not one of the project's is 404. */
  async list(scope: ProjectScope, caller: TicketCaller, playerId: string, state: TicketState | undefined, beforeId: string | undefined, limit: number): Promise<Ticket[]> {
    if (caller.kind === 'secret' && !(await this.deps.players.find(scope, [playerId])).has(playerId)) throw notFound(`No player ${playerId} in the project.`);
    return this.deps.store.listForPlayer(scope, playerId, state, beforeId, limit);
  }

  /** Cancels a searching ticket; an ended one is answered unchanged; a matched one is a conflict. */
  async cancel(scope: ProjectScope, caller: TicketCaller, id: string): Promise<Ticket> {
    await this.get(scope, caller, id);
    const outcome = await this.deps.store.cancel(scope, id);
    if (!outcome) throw notFound(`No ticket ${id}.`);
    if (outcome.changed) this.announce(scope, outcome.ticket);
    else if (outcome.ticket.state === 'matched') throw conflict('The ticket is matched: it can no longer be cancelled.');
    return outcome.ticket;
  }

  /**
   * A party's members changed: its searching ticket no longer holds the party as it is, and a player who
   * joined searches with the party now, not alone. Both are cancelled (the leader puts the party in again).
   */
  async partyChanged(scope: ProjectScope, change: PartyChange): Promise<void> {
    const ended = await this.deps.store.cancelForParty(scope, change.partyId, change.joined);
    for (const ticket of ended) this.announce(scope, ticket);
  }

  /** Tells every player on the ticket of its new state (at most once, like every realtime event). */
  announce(scope: ProjectScope, ticket: Ticket): void {
    this.deps.realtime
      .toPlayers(scope, ticket.players, { op: TICKET_EVENT, ticket })
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'matchmaker: could not send a ticket event'));
  }

  private async playersOf(scope: ProjectScope, caller: TicketCaller, request: TicketRequest): Promise<string[]> {
    if (caller.kind === 'secret') {
      const ids = request.player_ids ?? [];
      if (ids.length === 0) throw validation('A secret key names the ticket\'s players in player_ids.');
      if (new Set(ids).size !== ids.length) throw validation('player_ids must not repeat a player.');
      const found = await this.deps.players.find(scope, ids);
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw notFound(`No player ${missing} in the project.`);
      return ids;
    }
    if (request.party_id === undefined) return [caller.playerId];
    const members = await this.deps.parties.membersOf(scope, request.party_id);
    const leader = await this.deps.parties.leaderOf(scope, request.party_id);
    if (leader !== caller.playerId) throw forbidden('Only the party\'s leader puts it in a pool.');
    return [caller.playerId, ...members.filter((id) => id !== caller.playerId)];
  }

  /** The ticket's skill: as sent (source "ticket"), or the mean of its players' board scores. */
  private async skillOf(scope: ProjectScope, pool: Pool, caller: TicketCaller, players: string[], sent: number | undefined): Promise<number> {
    const board = skillBoard(pool.skill);
    if (board === undefined) {
      if (sent === undefined) throw validation('The pool takes skill from the ticket: send skill.');
      return sent;
    }
    if (sent !== undefined) {
      if (caller.kind === 'player') throw validation('The pool reads skill from a leaderboard: a player may not send its own.');
      return sent;
    }
    const scores = await this.deps.leaderboards.currentScores(scope, board, players).catch((error: unknown) => {
      // The board was deleted after the pool was set up: every player has the default.
      if (error instanceof AppError && error.slug === 'not-found') return new Map<string, bigint>();
      throw error;
    });
    const skills = players.map((id) => {
      const score = scores.get(id);
      return score === undefined ? pool.skill.default : Number(score);
    });
    return skills.reduce((sum, skill) => sum + skill, 0) / skills.length;
  }
}
