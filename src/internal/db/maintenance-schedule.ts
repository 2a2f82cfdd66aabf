/**
 * Runs a database maintenance pass (planner statistics, and vacuum where the driver does it) on a timer, for
 * databases where autovacuum does not: the embedded one always, a PostgreSQL server configured with
 * autovacuum = off. The first pass comes soon after start and the gap doubles up to the interval (a fresh
 * database fills fast); a pass may hold the database for at most 1% of the time, so a slow pass on a large
 * database spaces the next ones out. A failed pass (a statement timeout on a huge table) is retried at the next.
 */

export const DEFAULT_MAINTENANCE_INTERVAL_MS = 60_000;
const FIRST_PASS_MS = 1_000;
const MAX_SHARE = 0.01;

export class MaintenanceSchedule {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** intervalMs: the longest gap between passes (default 60 s); 0: never run. */
  constructor(
    private readonly pass: () => Promise<void>,
    private readonly intervalMs = DEFAULT_MAINTENANCE_INTERVAL_MS,
  ) {
    this.schedule(Math.min(FIRST_PASS_MS, intervalMs));
  }

  private schedule(delayMs: number): void {
    if (this.intervalMs <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      const started = performance.now();
      void this.pass()
        .catch(() => undefined)
        .then(() => {
          const cost = (performance.now() - started) / MAX_SHARE;
          this.schedule(Math.max(Math.min(delayMs * 2, this.intervalMs), cost));
        });
    }, delayMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
