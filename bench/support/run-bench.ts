/**
 * Every benchmark's entry: run it, and on failure stop its servers, drop its throwaway databases, run its
 * own extra clean-up, and exit non-zero (so `npm run bench` reports the failure).
 */
import { dropAllBenchDatabases } from './pg.js';
import type { ServerPool } from './process.js';

export function runBench(main: () => Promise<void>, pool: ServerPool, cleanUp: () => unknown = () => undefined): void {
  main().catch(async (error: unknown) => {
    console.error(error);
    await pool.stopAll();
    await dropAllBenchDatabases();
    try {
      await cleanUp();
    } catch {
      // Best effort: the run has failed already.
    }
    process.exit(1);
  });
}
