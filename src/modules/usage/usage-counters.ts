/**
 * What this node has counted since its last flush, in memory: the request path only adds to a map (no
 * database write, no promise). `take()` hands the counts to the flusher as one batch and starts afresh.
 */
import { randomUUID } from 'node:crypto';
import type { ProjectScope } from '../../http/auth-context.js';
import { hourStart, monthOf, type CountedMeter } from './meters.js';

export interface CountRow {
  tenantId: string;
  projectId: string;
  meter: CountedMeter;
  /** The start of the UTC hour, in ms. */
  hour: number;
  value: number;
}

export interface ActivePlayer {
  tenantId: string;
  projectId: string;
  playerId: string;
  /** `YYYY-MM-01`: the UTC calendar month the player is counted in. */
  month: string;
  /** When this node first saw the player sign in this month (ms): its hour gets the player. */
  at: number;
}

/** The highest count of open WebSockets sampled in an hour, for a project or (projectId null) a tenant. */
export interface PeakRow {
  tenantId: string;
  projectId: string | null;
  hour: number;
  value: number;
}

/** One flush's worth of counts, with the id that makes applying it idempotent. */
export interface UsageBatch {
  id: string;
  counts: CountRow[];
  players: ActivePlayer[];
  peaks: PeakRow[];
}

export class UsageCounters {
  private counts = new Map<string, CountRow>();
  private players = new Map<string, ActivePlayer>();
  private peaks = new Map<string, PeakRow>();

  constructor(private readonly now: () => number = Date.now) {}

  add(scope: ProjectScope, meter: CountedMeter, amount = 1): void {
    const hour = hourStart(this.now());
    const key = `${scope.tenantId}/${scope.projectId}/${meter}/${hour}`;
    const row = this.counts.get(key);
    if (row) row.value += amount;
    else this.counts.set(key, { tenantId: scope.tenantId, projectId: scope.projectId, meter, hour, value: amount });
  }

  /** A player signed in: counted once per month by the database; here only the first sighting is kept. */
  playerActive(scope: ProjectScope, playerId: string): void {
    const at = this.now();
    const month = monthOf(at);
    const key = `${scope.tenantId}/${scope.projectId}/${playerId}/${month}`;
    if (!this.players.has(key)) this.players.set(key, { tenantId: scope.tenantId, projectId: scope.projectId, playerId, month, at });
  }

  /** A sample of open WebSockets: the hour keeps its highest (the database keeps the highest of every node's). */
  sampled(tenantId: string, projectId: string | null, value: number): void {
    const hour = hourStart(this.now());
    const key = `${tenantId}/${projectId ?? ''}/${hour}`;
    const row = this.peaks.get(key);
    if (row) row.value = Math.max(row.value, value);
    else this.peaks.set(key, { tenantId, projectId, hour, value });
  }

  get empty(): boolean {
    return this.counts.size === 0 && this.players.size === 0 && this.peaks.size === 0;
  }

  take(): UsageBatch {
    const batch = { id: randomUUID(), counts: [...this.counts.values()], players: [...this.players.values()], peaks: [...this.peaks.values()] };
    this.counts = new Map();
    this.players = new Map();
    this.peaks = new Map();
    return batch;
  }
}
