import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppDeps } from '../build.js';
import type { CoreConfig } from '../../internal/config/core.js';
import { isMigrated } from '../../internal/db/migrate.js';
import { sendProblem } from '../../http/problem.js';
import { withDeadline } from '../../internal/deadline.js';

/** A database that has not answered readiness's ping by then is reported unavailable (probes time out fast). */
const READINESS_DEADLINE_MS = 2_000;

const Health = Type.Object(
  { status: Type.Literal('ok'), version: Type.Literal('v1'), commit: Type.String() },
  { additionalProperties: false },
);
const Readiness = Type.Object(
  { database: Type.String(), cache: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]) },
  { additionalProperties: false },
);

export async function healthRoutes(app: FastifyInstance, opts: { deps: AppDeps; config: CoreConfig; draining: () => boolean }): Promise<void> {
  const { deps, config } = opts;
  const healthBody = JSON.stringify({ status: 'ok', version: 'v1', commit: config.commit });

  app.get(
    '/v1/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'Liveness: answers without touching any dependency.',
        response: { 200: Health },
      },
    },
    // Pre-serialised: liveness is probed often and costs nothing.
    async (_request, reply) => reply.type('application/json; charset=utf-8').serializer((body) => body as string).send(healthBody),
  );

  // Once the migrations are seen applied they stay applied for this process's life.
  let migrated = false;
  app.get(
    '/v1/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'Readiness: the database answers and migrations are applied, and the node is not draining. The cache state is reported only.',
        response: { 200: Readiness },
      },
    },
    async (request, reply) => {
      if (opts.draining()) {
        // Draining (SIGTERM): load balancers stop sending new clients while the node hands its sessions on.
        // Not problem JSON: its `status` is the word the contract promises ("draining"), not a number.
        const body = JSON.stringify({ status: 'draining', detail: 'The node is shutting down; its clients are moving to other nodes.' });
        return (reply as FastifyReply).code(503).header('retry-after', '1').type('application/json; charset=utf-8').serializer((text) => text as string).send(body);
      }
      const cache = deps.cache.health();
      let database = 'ok';
      try {
        const deadline = AbortSignal.any([request.deadline ?? request.signal, AbortSignal.timeout(Math.min(READINESS_DEADLINE_MS, config.requestTimeoutMs))]);
        await withDeadline(deadline, async () => {
          await deps.db.ping();
          migrated ||= await isMigrated(deps.db, deps.migrations);
        });
        if (!migrated) database = 'migrations-pending';
      } catch {
        // dbState says why a database is not open yet; once it is open ('ok'), a failed ping means unreachable.
        const state = deps.dbState?.();
        database = state === undefined || state === 'ok' ? 'unavailable' : state;
      }
      if (database !== 'ok') {
        reply.header('retry-after', '1');
        return sendProblem(request, reply, 'unavailable', 503, `Not ready: database ${database}, cache ${cache}.`);
      }
      return { database, cache };
    },
  );
}
