/**
 * matchmaker.add and matchmaker.remove: the player's REST calls as socket ops, checked against the same
 * schemas as the REST bodies (one definition of what a ticket may carry). A session is its project's scope.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { validation } from '../../internal/errors/app-error.js';
import type { OpHandler, OpRequest } from '../realtime/api.js';
import { PlayerTicketBody, RemoveOp } from './ticket-schemas.js';
import type { TicketService } from './ticket-service.js';

/** The op's fields without the envelope (`op`, `id`), if they match the schema; else the first problem as a 400. */
function fieldsOf<T extends TSchema>(schema: T, request: OpRequest): Static<T> {
  const { op: _op, id: _id, ...fields } = request;
  if (Value.Check(schema, fields)) return fields;
  const first = Value.Errors(schema, fields).First();
  throw validation(`${request.op}: ${first ? `${first.path || 'the request'} ${first.message.toLowerCase()}` : 'invalid request'}.`);
}

export function ticketOps(tickets: TicketService): Record<string, OpHandler> {
  return {
    'matchmaker.add': async (request, session) => {
      const body = fieldsOf(PlayerTicketBody, request);
      return { ticket: await tickets.create(session, { kind: 'player', playerId: session.playerId }, body) };
    },
    'matchmaker.remove': async (request, session) => {
      const { ticket_id } = fieldsOf(RemoveOp, request);
      return { ticket: await tickets.cancel(session, { kind: 'player', playerId: session.playerId }, ticket_id) };
    },
  };
}
