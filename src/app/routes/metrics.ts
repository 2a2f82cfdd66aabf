import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../build.js';

export async function metricsRoute(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { metrics } = opts.deps;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
