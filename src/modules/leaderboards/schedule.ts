/**
 * Reset schedules: a board with `reset_cron` keeps one period per schedule window. The current period is
 * named by the last scheduled time at or before now (UTC), as epoch seconds; records carry it, so a new
 * period starts empty without deleting anything and the previous one stays readable. Boards without a
 * schedule have one period, 0.
 *
 * Cron evaluation uses croner (no dependencies, standard 5-field syntax, previous runs, time zones).
 */
import { Cron } from 'croner';
import { validation } from '../../internal/errors/app-error.js';

export interface Periods {
  /** The period new scores go to. */
  current: string;
  /** The one before it (null for boards without a schedule). */
  previous: string | null;
  /** Epoch ms at which `current` stops being current (null: never). */
  endsAtMs: number | null;
  /** Epoch ms after which `current` is no longer even the previous period: its rank index may go. */
  retiredAtMs: number | null;
}

/** Before the first scheduled time there is no earlier run: the "period" is the epoch itself. */
const BEFORE_FIRST_RUN = '0';
const PREVIOUS_OF_FIRST = '-1';

function cronOf(pattern: string): Cron {
  return new Cron(pattern, { timezone: 'Etc/UTC', mode: '5-part', paused: true });
}

/** Throws a 400 unless `pattern` is a 5-field cron expression that fires at least once more. */
export function validateCron(pattern: string): void {
  let next: Date | null;
  try {
    next = cronOf(pattern).nextRun();
  } catch (error) {
    throw validation(`reset_cron is not a valid cron expression: ${(error as Error).message.slice(0, 200)}`);
  }
  if (!next) throw validation('reset_cron never fires.');
}

/** Periods of one schedule, cached until the schedule next fires (croner is not free per request). */
export class ResetSchedule {
  private readonly cron: Cron;
  private cached: Periods | undefined;

  constructor(pattern: string) {
    this.cron = cronOf(pattern);
  }

  periodsAt(nowMs: number): Periods {
    const hit = this.cached;
    if (hit && hit.endsAtMs !== null && nowMs < hit.endsAtMs && nowMs >= Number(hit.current) * 1000) return hit;
    // previousRuns is strictly before its reference (within the same second it includes earlier runs):
    // +1 ms makes a run at exactly `now` count as begun.
    const [last, beforeLast] = this.cron.previousRuns(2, new Date(nowMs + 1));
    const upcoming = this.cron.nextRuns(2, new Date(nowMs));
    const current = last ? String(Math.floor(last.getTime() / 1000)) : BEFORE_FIRST_RUN;
    const previous = beforeLast ? String(Math.floor(beforeLast.getTime() / 1000)) : last ? BEFORE_FIRST_RUN : PREVIOUS_OF_FIRST;
    const periods: Periods = {
      current,
      previous,
      endsAtMs: upcoming[0]?.getTime() ?? null,
      retiredAtMs: upcoming[1]?.getTime() ?? null,
    };
    this.cached = periods;
    return periods;
  }
}

export const UNSCHEDULED: Periods = { current: '0', previous: null, endsAtMs: null, retiredAtMs: null };
