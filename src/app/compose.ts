/**
 * Builds the registry's modules in order, each with its own config section and exactly the provisions it
 * names; then mounts their routes, starts their jobs and, at close, stops the jobs and closes the modules in
 * reverse order.
 */
import type { FastifyInstance } from 'fastify';
import type { AnySection, BackgroundJob, BuiltModule, DomainModule, Infrastructure, Provisions, RouteContext } from '../modules/contract.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModule = DomainModule<string, AnySection | undefined, any>;

export interface ComposedModules {
  provisions: Provisions;
  /** Each module's routes in an encapsulated context of its own, in registry order. */
  registerRoutes(app: FastifyInstance, context: RouteContext): Promise<void>;
  startJobs(): void;
  /** Runs every module's drain at once (a module's failure is logged, never stops the others). */
  drain(): Promise<void>;
  /** Stops every job, then closes the modules, last built first. */
  close(): Promise<void>;
}

export async function composeModules(list: readonly AnyModule[], infra: Infrastructure, config: object): Promise<ComposedModules> {
  const sections = config as Record<string, unknown>;
  const provided: Record<string, unknown> = {};
  const built: { name: string; module: BuiltModule<unknown> }[] = [];
  const closeBuilt = async (): Promise<void> => {
    for (const { name, module } of [...built].reverse()) {
      await module.close?.().catch((error: unknown) => infra.logger.error({ err: error, module: name }, 'closing a module failed'));
    }
  };
  try {
    for (const module of list) {
      const needs: Record<string, unknown> = {};
      for (const need of module.needs as readonly string[]) {
        if (!(need in provided)) throw new Error(`module ${module.name} needs ${need}, which is not built before it in src/app/registry.ts`);
        needs[need] = provided[need];
      }
      const sectionValues = module.config ? sections[module.config.key] : undefined;
      const result = (await module.build({ config: sectionValues, infra, needs })) as BuiltModule<unknown>;
      built.push({ name: module.name, module: result });
      if (result.provides !== undefined) provided[module.name] = result.provides;
    }
  } catch (error) {
    await closeBuilt();
    throw error;
  }

  const jobs: BackgroundJob[] = built.flatMap(({ module }) => module.jobs ?? []);
  return {
    // Every `needs` above was checked against what was built; the registry's modules fill every entry.
    provisions: provided as unknown as Provisions,
    async registerRoutes(app, context) {
      for (const { module } of built) {
        const routes = module.routes?.bind(module);
        if (routes) await app.register(async (scope) => routes(scope, context));
      }
    },
    startJobs() {
      for (const job of jobs) job.start();
    },
    async drain() {
      await Promise.all(
        built.map(async ({ name, module }) => {
          try {
            await module.drain?.();
          } catch (error) {
            infra.logger.error({ err: error, module: name }, 'draining a module failed');
          }
        }),
      );
    },
    async close() {
      await Promise.all(jobs.map((job) => job.stop().catch((error: unknown) => infra.logger.error({ err: error, job: job.name }, 'stopping a job failed'))));
      await closeBuilt();
    },
  };
}
