/**
 * Something measured around each round of a load (the database server's CPU time, a process's CPU time), to
 * report per operation beside the throughput: `stop` answers named totals for the round, and the figure is
 * the median over the rounds of total / operations.
 */
import { median } from './table.js';

export interface RoundProbe {
  start(): Promise<unknown>;
  stop(started: unknown): Promise<Record<string, number>>;
}

/** Runs `round` inside the probe (if any) and returns its totals. */
export async function probed<T>(probe: RoundProbe | undefined, round: () => Promise<T>): Promise<{ result: T; totals: Record<string, number> }> {
  const started = await probe?.start();
  const result = await round();
  return { result, totals: probe ? await probe.stop(started) : {} };
}

/** Per operation: for each name, the median over rounds of the round's total divided by its operations. */
export function perOperation(rounds: { operations: number; totals: Record<string, number> }[]): Record<string, number> {
  const names = new Set(rounds.flatMap((round) => Object.keys(round.totals)));
  return Object.fromEntries([...names].map((name) => [name, median(rounds.map((round) => (round.totals[name] ?? NaN) / round.operations))]));
}
