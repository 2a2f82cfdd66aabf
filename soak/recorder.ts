/**
 * What the soak saw, per kind of request: how many, how long each took, and every error (an unexpected
 * status, any 5xx, a socket error, a wrong answer), grouped by kind and reason with a few samples kept.
 */
import { quantile } from './stats.js';

interface KindStats {
  count: number;
  latencies: number[];
}

interface ErrorGroup {
  count: number;
  samples: string[];
}

const SAMPLES_PER_ERROR = 3;

export interface KindSummary {
  kind: string;
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class Recorder {
  private readonly kinds = new Map<string, KindStats>();
  private readonly errorGroups = new Map<string, ErrorGroup>();
  private readonly errorsByKind = new Map<string, number>();

  /** A request of `kind` answered (as expected or not) after `ms`. */
  done(kind: string, ms: number): void {
    let stats = this.kinds.get(kind);
    if (!stats) this.kinds.set(kind, (stats = { count: 0, latencies: [] }));
    stats.count += 1;
    stats.latencies.push(ms);
  }

  /** Something went wrong with a request of `kind`; `reason` groups alike errors, `detail` is a sample. */
  fail(kind: string, reason: string, detail = ''): void {
    this.errorsByKind.set(kind, (this.errorsByKind.get(kind) ?? 0) + 1);
    const key = `${kind}: ${reason}`;
    let group = this.errorGroups.get(key);
    if (!group) this.errorGroups.set(key, (group = { count: 0, samples: [] }));
    group.count += 1;
    if (group.samples.length < SAMPLES_PER_ERROR && detail) group.samples.push(detail.replace(/\s+/g, ' ').slice(0, 200));
  }

  get totalRequests(): number {
    let total = 0;
    for (const stats of this.kinds.values()) total += stats.count;
    return total;
  }

  get totalErrors(): number {
    let total = 0;
    for (const count of this.errorsByKind.values()) total += count;
    return total;
  }

  summaries(): KindSummary[] {
    const names = new Set([...this.kinds.keys(), ...this.errorsByKind.keys()]);
    return [...names].sort().map((kind) => {
      const latencies = Float64Array.from(this.kinds.get(kind)?.latencies ?? []).sort();
      return {
        kind,
        count: this.kinds.get(kind)?.count ?? 0,
        errors: this.errorsByKind.get(kind) ?? 0,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        maxMs: latencies.length > 0 ? latencies[latencies.length - 1]! : NaN,
      };
    });
  }

  errorList(): { what: string; count: number; samples: string[] }[] {
    return [...this.errorGroups.entries()].sort((a, b) => b[1].count - a[1].count).map(([what, group]) => ({ what, ...group }));
  }
}
