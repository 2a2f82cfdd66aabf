/**
 * Samples the server while the workload runs: RSS from /proc/<pid>/status (the embedded database's worker
 * thread included: same process), and from /metrics the heap, the event-loop lag (prom-client resets its
 * histogram at every scrape, so each sample covers the interval since the last), the WebSocket gauge, and
 * the server's own count of requests and 5xx answers.
 */
import { readFile } from 'node:fs/promises';
import type { HttpClient } from './http.js';

export interface Sample {
  /** Seconds since the workload started. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  lagP99Ms: number;
  lagMaxMs: number;
  wsConnections: number;
  serverRequests: number;
  server5xx: number;
}

const MiB = 1024 * 1024;

async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kiB = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kiB === undefined ? NaN : (Number(kiB) * 1024) / MiB;
  } catch {
    return NaN; // not Linux, or the process is gone
  }
}

/** The value of an unlabelled metric, or NaN. */
function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/** Sums of http_request_duration_seconds_count over all series, and over the 5xx ones. */
function requestCounts(text: string): { total: number; fiveXx: number } {
  let total = 0;
  let fiveXx = 0;
  for (const match of text.matchAll(/^http_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    const count = Number(match[2]);
    total += count;
    if (/status_code="5\d\d"/.test(match[1]!)) fiveXx += count;
  }
  return { total, fiveXx };
}

export class Sampler {
  readonly samples: Sample[] = [];
  private readonly started = performance.now();

  constructor(
    private readonly http: HttpClient,
    private readonly pid: number,
  ) {}

  async sample(): Promise<Sample | undefined> {
    const [rssMiB, metrics] = await Promise.all([rssOf(this.pid), this.http.call('metrics', 'GET', '/metrics', [200])]);
    if (!metrics) return undefined;
    const { total, fiveXx } = requestCounts(metrics.body);
    const sample: Sample = {
      t: (performance.now() - this.started) / 1000,
      rssMiB: Number.isFinite(rssMiB) ? rssMiB : gauge(metrics.body, 'process_resident_memory_bytes') / MiB,
      heapUsedMiB: gauge(metrics.body, 'nodejs_heap_size_used_bytes') / MiB,
      lagP99Ms: gauge(metrics.body, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      lagMaxMs: gauge(metrics.body, 'nodejs_eventloop_lag_max_seconds') * 1000,
      wsConnections: gauge(metrics.body, 'ggscale_ws_connections'),
      serverRequests: total,
      server5xx: fiveXx,
    };
    this.samples.push(sample);
    return sample;
  }
}
