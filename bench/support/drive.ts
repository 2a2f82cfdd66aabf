/**
 * In-process load for driver-level figures: `callers` concurrent loops, each awaiting one call at a time,
 * for a fixed time; operations per second and latency percentiles.
 */
import { perOperation, probed, type RoundProbe } from './probe.js';
import { median } from './table.js';

export interface DriveResult {
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Calls completed. */
  count: number;
  /** With probes (driveAlternating): what each measured, per call (median over the rounds). */
  perOp?: Record<string, number>;
}

export async function drive(callers: number, seconds: number, call: () => Promise<unknown>): Promise<DriveResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const before = performance.now();
      await call();
      latencies.push(performance.now() - before);
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { opsPerSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), count: latencies.length };
}

/**
 * Alternating rounds (A B A B) after one warm-up each; figures are medians over the rounds. `probe`, if given,
 * measures around every round (e.g. the database server's CPU time), reported per call in `perOp`.
 */
export async function driveAlternating<K extends string>(
  rounds: number,
  seconds: number,
  callers: number,
  calls: Record<K, () => Promise<unknown>>,
  warmupSeconds = 1,
  probe?: RoundProbe,
): Promise<Record<K, DriveResult>> {
  const names = Object.keys(calls) as K[];
  for (const name of names) await drive(callers, warmupSeconds, calls[name]);
  const runs = new Map<K, { result: DriveResult; totals: Record<string, number> }[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) runs.get(name)!.push(await probed(probe, () => drive(callers, seconds, calls[name])));
  }
  return Object.fromEntries(
    names.map((name) => {
      const all = runs.get(name)!.map((run) => run.result);
      const perOp = perOperation(runs.get(name)!.map((run) => ({ operations: run.result.count, totals: run.totals })));
      return [
        name,
        {
          opsPerSecond: median(all.map((r) => r.opsPerSecond)),
          p50Ms: median(all.map((r) => r.p50Ms)),
          p99Ms: median(all.map((r) => r.p99Ms)),
          count: median(all.map((r) => r.count)),
          ...(probe ? { perOp } : {}),
        },
      ];
    }),
  ) as Record<K, DriveResult>;
}
