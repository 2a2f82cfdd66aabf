/**
 * The matcher: every MATCHMAKER_INTERVAL_MS, each pool with work gets a pass — its matches formed under the
 * pool's lock (one node at a time; see match-store.ts), then an allocation attempt for each held group due.
 * A pool's failure is logged and leaves the others to run.
 */
import { AppError } from '../../internal/errors/app-error.js';
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import { formMatches } from './forming.js';
import type { MatchService } from './match-service.js';
import type { MatchStore, PoolWork } from './match-store.js';
import type { MatchmakerMetrics } from './metrics.js';
import { rulesOf } from './pool.js';
import type { PoolService } from './pool-service.js';

/** Allocation attempts a pool's pass makes at once. */
const ALLOCATIONS_AT_ONCE = 8;

export class Matcher extends PeriodicJob {
  constructor(
    private readonly deps: { store: MatchStore; pools: PoolService; matches: MatchService; metrics: MatchmakerMetrics; allocationTimeoutSeconds: number },
    logger: Logger,
    intervalMs: number,
  ) {
    super('matchmaker.matcher', intervalMs, logger);
  }

  async pass(): Promise<void> {
    let searching = 0;
    for (const work of await this.deps.store.poolsWithWork()) {
      searching += await this.poolPass(work).catch((error: unknown) => {
        this.logger.warn({ err: error, pool: work.poolId }, 'matchmaker: a pool pass failed');
        return 0;
      });
    }
    this.deps.metrics.searching.set(searching);
    this.deps.metrics.passes.inc();
  }

  /** One pool: form and hold its matches, then try to allocate the held groups that are due; answers the tickets read. */
  async poolPass({ scope, poolId }: PoolWork): Promise<number> {
    const pool = await this.deps.pools.get(scope, poolId).catch((error: unknown) => {
      if (error instanceof AppError && error.slug === 'not-found') return undefined; // deleted meanwhile: its tickets ended with it
      throw error;
    });
    if (!pool) return 0;
    const rules = rulesOf(pool);
    let read = 0;
    const held = await this.deps.store.formAndHold(scope, poolId, this.deps.allocationTimeoutSeconds, (tickets, nowMs) => {
      read = tickets.length;
      return formMatches(rules, tickets, nowMs);
    });
    if (held === undefined) return 0; // another node is on this pool now
    // A few at a time: an attempt may wait for a game server to start (FLEET_ALLOCATION_WAIT_MS).
    const due = await this.deps.store.dueHeld(scope, poolId);
    for (let i = 0; i < due.length; i += ALLOCATIONS_AT_ONCE) {
      await Promise.all(due.slice(i, i + ALLOCATIONS_AT_ONCE).map((group) => this.deps.matches.allocate(scope, pool, group)));
    }
    return read;
  }
}
