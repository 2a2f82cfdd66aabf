/**
 * "Acting for a player": routes a player calls with its own token, and the studio's server calls with a
 * secret key and `?player_id=`. A player token never takes `player_id`; a secret key always needs it. Whether
 * the named player exists in the project is the service's question (404), asked inside the project's scope.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { validation } from '../internal/errors/app-error.js';
import { authOf } from './credential-gate.js';
import { Id } from './schemas.js';

/** The query member every acting-for-a-player route declares (with its own members beside it). */
export const ActingPlayerQuery = {
  player_id: Type.Optional({ ...Id, description: 'With a secret key: the player to act for (required). Never with a player token.' }),
};

export function actingPlayerOf(request: FastifyRequest): string {
  const auth = authOf(request);
  const named = (request.query as { player_id?: string } | undefined)?.player_id;
  if (auth.kind === 'player') {
    if (named !== undefined) throw validation('A player token acts for its own player: leave out player_id.');
    return auth.playerId!;
  }
  if (named === undefined) throw validation('A secret key must name the player it acts for with ?player_id=.');
  return named;
}
