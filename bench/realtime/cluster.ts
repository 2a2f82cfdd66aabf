/**
 * The deployment the room, presence and send sections measure: two ggscale nodes (`ggscale serve`, separate
 * processes) on one throwaway PostgreSQL database and Redis (CACHE_BACKEND=redis), plus the bare broadcast
 * baseline server. Redis keys and channels carry the deployment namespace the fresh database makes for
 * itself, so a run never meets another's keys.
 */
import { rmSync } from 'node:fs';
import { createBenchDatabase, type BenchDatabase } from '../support/pg.js';
import { fdLimit, LIFTED_LIMITS, REDIS_URL, running, startBroadcastBaseline, startNode, stopProcess, type Proc } from './common.js';

export interface Cluster {
  database: BenchDatabase;
  nodes: [Proc, Proc];
  baseline: Proc;
  /** Redis namespace (the deployment's, from the throwaway database). */
  namespace: string;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const fds = fdLimit();
  const database = await createBenchDatabase();
  const env = { DATABASE_URL: database.url, CACHE_BACKEND: 'redis', REDIS_URL, ...LIFTED_LIMITS };
  // One after the other: two tsx compilations at once on two cores only slow each other down.
  const a = await startNode(env, fds);
  const b = await startNode(env, fds);
  const baseline = await startBroadcastBaseline(fds);
  const { default: postgres } = await import('postgres');
  const sql = postgres(database.url, { max: 1, onnotice: () => undefined });
  const [row] = await sql<{ namespace: string }[]>`select namespace from deployment`;
  await sql.end();
  return {
    database,
    nodes: [a, b],
    baseline,
    namespace: row?.namespace ?? '?',
    async stop() {
      for (const proc of [a, b, baseline]) {
        await stopProcess(proc);
        running.delete(proc);
        if (proc.log) rmSync(proc.log, { force: true });
      }
      await database.drop();
    },
  };
}
