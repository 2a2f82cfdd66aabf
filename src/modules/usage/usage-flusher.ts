/**
 * Adds this node's in-memory counts to the database every USAGE_FLUSH_SECONDS, and once more at shutdown.
 *
 * Safety: each flush takes the counts as a batch with an id of its own. A batch that fails stays pending,
 * unchanged, and is retried first at the next flush with the same id; the database records applied ids in
 * the batch's own transaction, so a retry of a batch whose commit did happen (only the answer was lost) is
 * skipped instead of counted twice. Counts for an hour that is already final are dropped (a final hour never
 * changes), with a warning. A node that dies loses what it counted since its last successful flush.
 *
 * After the counts, two measures that are recomputed rather than added, so any node may write them and a
 * retry changes nothing: the storage gauge of the current hour, and server_seconds of every open hour.
 */
import { PeriodicJob } from '../../internal/jobs/periodic-job.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import { HOUR_MS, firstOpenHour, hourStart, isFinal } from './meters.js';
import type { UsageBatch, UsageCounters } from './usage-counters.js';
import type { UsageStore } from './usage-store.js';

export interface FlusherOptions {
  flushMs: number;
  finalAfterMs: number;
  now?: () => number;
}

export class UsageFlusher extends PeriodicJob {
  private readonly pending: UsageBatch[] = [];
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly counters: UsageCounters,
    private readonly store: UsageStore,
    logger: Logger,
    private readonly options: FlusherOptions,
  ) {
    super('usage.flush', options.flushMs, logger);
    this.now = options.now ?? Date.now;
  }

  /** The timer's pass; stop() waits for it, and the final flush is close()'s (see module.ts). */
  override pass(): Promise<void> {
    return this.flush();
  }

  /** One flush at a time: a call while one runs waits for it and then flushes what came meanwhile. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (!this.counters.empty) this.pending.push(this.counters.take());
    this.dropFinalHours();
    try {
      while (this.pending.length > 0) {
        const applied = await this.store.apply(this.pending[0]!);
        if (!applied) this.logger.info({ batch: this.pending[0]!.id }, 'usage batch was already applied: skipped');
        this.pending.shift();
      }
      const now = this.now();
      await this.store.sampleStorage(new Date(hourStart(now)));
      await this.store.measureServerSeconds(new Date(firstOpenHour(now, this.options.finalAfterMs)), new Date(now));
    } catch (error) {
      // Kept for the next flush (same batch, same id): nothing is lost while the database comes back.
      this.logger.warn({ err: error, pending_batches: this.pending.length }, 'usage flush failed; its counts are kept for the next flush');
    }
  }

  /** A final hour never changes: counts still pending for one (a long outage) are dropped, and logged. */
  private dropFinalHours(): void {
    const now = this.now();
    const open = (hour: number) => !isFinal(hour + HOUR_MS, now, this.options.finalAfterMs);
    let dropped = 0;
    for (const batch of this.pending) {
      const counts = batch.counts.filter((row) => open(row.hour));
      const players = batch.players.filter((player) => open(hourStart(player.at)));
      const peaks = batch.peaks.filter((peak) => open(peak.hour));
      dropped += batch.counts.length - counts.length + batch.players.length - players.length + batch.peaks.length - peaks.length;
      batch.counts = counts;
      batch.players = players;
      batch.peaks = peaks;
    }
    if (dropped > 0) this.logger.warn({ dropped_rows: dropped }, 'usage counts for hours that are already final were dropped');
  }
}
