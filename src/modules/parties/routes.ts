/** GET /v1/parties/{party_id}: the project's secret key, or a member's token. */
import type { FastifyInstance } from 'fastify';
import { authOf } from '../../http/credential-gate.js';
import type { PartyService } from './party-service.js';
import { BadPartyIdResponse, PartyNotFoundResponse, PartyParams, PartySchema } from './schemas.js';

export async function partyRoutes(app: FastifyInstance, service: PartyService): Promise<void> {
  app.get<{ Params: PartyParams }>(
    '/v1/parties/:party_id',
    {
      schema: {
        operationId: 'getParty',
        tags: ['parties'],
        summary: 'Reads a party.',
        description: "A secret key reads any party of its project; a player token only the party it is a member of (anything else is 404).",
        params: PartyParams,
        response: { 200: PartySchema, 400: BadPartyIdResponse, 404: PartyNotFoundResponse },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const scope = { tenantId: auth.tenantId, projectId: auth.projectId };
      return service.read(scope, request.params.party_id, auth.kind === 'player' ? auth.playerId : undefined);
    },
  );
}
