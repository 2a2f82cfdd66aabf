/** The operator's signing-key rotation (/v1/admin/signing-keys/rotate), inside an operator-only context. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Timestamp } from '../../http/schemas.js';
import type { SigningKeyStore } from './signing-keys.js';

export async function signingKeyRoutes(app: FastifyInstance, opts: { keys: SigningKeyStore; publishLeadSeconds: number }): Promise<void> {
  app.post(
    '/v1/admin/signing-keys/rotate',
    {
      schema: {
        operationId: 'rotateSigningKeys',
        tags: ['operator'],
        summary: 'Publishes a new access-token signing key now; it signs after the publish lead time.',
        response: { 201: Type.Object({ kid: Type.String(), activates_at: Timestamp }, { additionalProperties: false }) },
      },
    },
    async (request, reply) => {
      const rotated = await opts.keys.rotate(opts.publishLeadSeconds);
      request.log.info({ audit: true, actor: 'operator', ip: request.ip, action: 'signing_key.rotate', target: `kid:${rotated.kid}` }, 'operator action');
      return reply.code(201).send(rotated);
    },
  );
}
