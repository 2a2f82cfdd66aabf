/**
 * HTTP load through autocannon (programmatic), always against a server in another process: the load
 * generator and the server must not share one event loop. Each measurement is preceded by a short warm-up
 * (JIT, connection pools, caches) that is not counted.
 */
import autocannon, { type RequestSpec } from 'autocannon';
import { perOperation, probed, type RoundProbe } from './probe.js';
import { median } from './table.js';

export interface LoadOptions {
  url: string;
  connections?: number;
  pipelining?: number;
  /** Measured seconds. */
  seconds?: number;
  /** Unmeasured seconds before, on the same target. */
  warmupSeconds?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Varies each request (e.g. a different id per request). */
  setupRequest?: (request: RequestSpec) => RequestSpec;
  /**
   * Requests per second across all connections (open loop): latency then shows the service time at that
   * load rather than the queue that a closed loop of `connections` callers builds at saturation.
   */
  overallRate?: number;
}

export interface LoadResult {
  /** Successful (2xx) responses per second over the measured window. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Successful responses in the measured window. */
  requests?: number;
  /** With a probe (alternate): what it measured, per successful response (median over the rounds). */
  perOp?: Record<string, number>;
}

export const DEFAULT_CONNECTIONS = 64;

async function fire(options: LoadOptions, seconds: number) {
  const path = new URL(options.url).pathname + new URL(options.url).search;
  const request: RequestSpec = {
    method: options.method ?? 'GET',
    path,
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.setupRequest ? { setupRequest: options.setupRequest } : {}),
  };
  return autocannon({
    url: options.url,
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    pipelining: options.pipelining ?? 1,
    duration: seconds,
    requests: [request],
    timeout: 10,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const warmup = options.warmupSeconds ?? 1;
  if (warmup > 0) await fire(options, warmup);
  const result = await fire(options, options.seconds ?? 5);
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(count);
  return {
    rps: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes,
    requests: result['2xx'],
  };
}

/** Fails loudly when a run was not clean: a figure built on 429s or errors would be meaningless. */
export function assertClean(what: string, result: LoadResult): void {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${what}: ${result.non2xx} non-2xx responses (${JSON.stringify(result.statusCodes)}), ${result.errors} errors`);
  }
}

/**
 * Measures two or more targets in alternating rounds (A B A B ...) so drift on a shared 2-core machine
 * (thermal, other processes) falls on all of them alike; each figure is the median over its rounds. Many
 * short rounds and a median shrug off a burst of load better than one long run each. `probes` (per target)
 * measure around each measured round (not its warm-up), reported per successful response in `perOp`.
 */
export async function alternate<K extends string>(
  rounds: number,
  targets: Record<K, LoadOptions>,
  probes: Partial<Record<K, RoundProbe>> = {},
): Promise<Record<K, LoadResult>> {
  const names = Object.keys(targets) as K[];
  const runs = Object.fromEntries(names.map((name) => [name, [] as LoadResult[]])) as unknown as Record<K, LoadResult[]>;
  const measured = Object.fromEntries(names.map((name) => [name, [] as { operations: number; totals: Record<string, number> }[]])) as unknown as Record<
    K,
    { operations: number; totals: Record<string, number> }[]
  >;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      // Warm up once, before the first round: later rounds find the target warm.
      if (round === 0 && (targets[name].warmupSeconds ?? 1) > 0) await load({ ...targets[name], seconds: targets[name].warmupSeconds ?? 1, warmupSeconds: 0 });
      const { result, totals } = await probed(probes[name], () => load({ ...targets[name], warmupSeconds: 0 }));
      assertClean(name, result);
      runs[name].push(result);
      measured[name].push({ operations: result.requests ?? 0, totals });
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const all = runs[name];
      return [
        name,
        {
          rps: median(all.map((r) => r.rps)),
          p50Ms: median(all.map((r) => r.p50Ms)),
          p99Ms: median(all.map((r) => r.p99Ms)),
          non2xx: all.reduce((sum, r) => sum + r.non2xx, 0),
          errors: all.reduce((sum, r) => sum + r.errors, 0),
          statusCodes: {},
          ...(probes[name] ? { perOp: perOperation(measured[name]) } : {}),
        },
      ];
    }),
  ) as Record<K, LoadResult>;
}
