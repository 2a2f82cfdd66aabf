/** /v1/matchmaker/tickets: a player's own tickets (player token), or any player's (secret key). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actingPlayerOf } from '../../http/acting-player.js';
import { authOf, scopeOf } from '../../http/credential-gate.js';
import { decodeCursor, encodeCursor } from '../../http/schemas.js';
import { validation } from '../../internal/errors/app-error.js';
import type { TicketCaller, TicketRequest, TicketService } from './ticket-service.js';
import type { MatchService } from './match-service.js';
import {
  MatchNotFound,
  MatchParams,
  MatchSchema,
  NotPartyLeader,
  TicketBody,
  TicketConflict,
  TicketCreateNotFound,
  TicketListQuery,
  TicketMatched,
  TicketNotFound,
  TicketPageSchema,
  TicketParams,
  TicketSchema,
} from './ticket-schemas.js';

const tags = ['matchmaker'];
const TICKET_ID = /^[1-9][0-9]{0,17}$/;

/** A cursor is `{"t": the last ticket id of the page}` (newest first: the next page is below it). */
const isPosition = (value: unknown): value is { t: string } => {
  const v = value as { t?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.t === 'string' && TICKET_ID.test(v.t);
};

export const callerOf = (request: FastifyRequest): TicketCaller => {
  const auth = authOf(request);
  return auth.kind === 'player' ? { kind: 'player', playerId: auth.playerId! } : { kind: 'secret' };
};

export async function ticketRoutes(app: FastifyInstance, tickets: TicketService, matches: MatchService): Promise<void> {
  app.post<{ Body: TicketRequest }>(
    '/v1/matchmaker/tickets',
    {
      schema: {
        operationId: 'createTicket',
        tags,
        summary: 'Puts a player (or its party, or a secret key\'s players) into a pool, searching.',
        description: 'A player has at most one active ticket. Each player on the ticket gets a matchmaker.ticket event.',
        body: TicketBody,
        response: { 201: TicketSchema, 403: NotPartyLeader, 404: TicketCreateNotFound, 409: TicketConflict },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      // The union's two bodies differ by party_id / player_ids: each credential kind may send only its own.
      if (caller.kind === 'player' && request.body.player_ids !== undefined) throw validation('A player token sends no player_ids.');
      if (caller.kind === 'secret' && request.body.party_id !== undefined) throw validation('A secret key names players in player_ids, not a party.');
      return reply.code(201).send(await tickets.create(scopeOf(request), caller, request.body));
    },
  );

  app.get<{ Querystring: TicketListQuery }>(
    '/v1/matchmaker/tickets',
    {
      schema: {
        operationId: 'listTickets',
        tags,
        summary: "The acting player's tickets, newest first (kept MATCHMAKER_TICKET_RETENTION_DAYS).",
        querystring: TicketListQuery,
        response: { 200: TicketPageSchema, 404: TicketCreateNotFound },
      },
    },
    async (request) => {
      const playerId = actingPlayerOf(request);
      const limit = request.query.limit ?? 20;
      const before = decodeCursor(request.query.cursor, isPosition);
      const items = await tickets.list(scopeOf(request), callerOf(request), playerId, request.query.state, before?.t, limit);
      return { items, next_cursor: items.length === limit ? encodeCursor({ t: items.at(-1)!.id }) : null };
    },
  );

  app.get<{ Params: TicketParams }>(
    '/v1/matchmaker/tickets/:id',
    {
      schema: { operationId: 'getTicket', tags, summary: 'A ticket: to a player on it, or a secret key.', params: TicketParams, response: { 200: TicketSchema, 404: TicketNotFound } },
    },
    async (request) => {
      const caller = callerOf(request);
      const scope = scopeOf(request);
      const ticket = await tickets.get(scope, caller, request.params.id);
      return caller.kind === 'player' ? matches.forTicket(scope, caller.playerId, ticket) : ticket;
    },
  );

  app.get<{ Params: MatchParams }>(
    '/v1/matchmaker/matches/:id',
    {
      schema: { operationId: 'getMatch', tags, summary: 'A match: to one of its players, or a secret key.', params: MatchParams, response: { 200: MatchSchema, 404: MatchNotFound } },
    },
    async (request) => matches.get(scopeOf(request), callerOf(request), request.params.id),
  );

  app.delete<{ Params: TicketParams }>(
    '/v1/matchmaker/tickets/:id',
    {
      schema: {
        operationId: 'cancelTicket',
        tags,
        summary: 'Cancels a searching ticket (any player on it, or a secret key); an ended one is answered unchanged.',
        params: TicketParams,
        response: { 200: TicketSchema, 404: TicketNotFound, 409: TicketMatched },
      },
    },
    async (request) => tickets.cancel(scopeOf(request), callerOf(request), request.params.id),
  );
}
