/**
 * Benchmark output: one table per section, each figure beside the baseline measured in the same run, the
 * ratio, and the target when it names one. A missed target is printed as MISSED, never hidden;
 * it fails the process only under BENCH_STRICT=1 (the numbers of a 2-core shared machine are indicative).
 */

export interface Target {
  /** As printed, e.g. "≥ 0.8×" or "≤ 25% overhead". */
  text: string;
  met: boolean;
}

export interface Row {
  figure: string;
  value: string;
  baseline: string;
  baselineValue: string;
  ratio: string;
  target?: Target;
}

import { availableParallelism, loadavg } from 'node:os';

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

export const fmt = {
  rps: (value: number) => `${fixed(value, 0)} req/s`,
  perSecond: (value: number, unit: string) => `${fixed(value, 1)} ${unit}/s`,
  ms: (value: number) => `${fixed(value, 1)} ms`,
  ratio: (value: number) => `${fixed(value, 2)}×`,
  percent: (value: number) => `${value >= 0 ? '+' : ''}${fixed(value * 100, 1)}%`,
};

/** A throughput figure (higher is better). Overhead is the extra time per request: baseline/value − 1. */
export function throughputRow(
  figure: string,
  value: number,
  baseline: string,
  baselineValue: number,
  target: { minRatio?: number; maxOverhead?: number } = {},
  unit = 'req/s',
): Row {
  const ratio = value / baselineValue;
  const overhead = baselineValue / value - 1;
  let verdict: Target | undefined;
  if (target.minRatio !== undefined) verdict = { text: `≥ ${target.minRatio}×`, met: ratio >= target.minRatio };
  if (target.maxOverhead !== undefined) {
    verdict = { text: `overhead ≤ ${target.maxOverhead * 100}%`, met: overhead <= target.maxOverhead };
  }
  const show = unit === 'req/s' ? fmt.rps : (v: number) => fmt.perSecond(v, unit.replace(/\/s$/, ''));
  return {
    figure,
    value: show(value),
    baseline,
    baselineValue: show(baselineValue),
    ratio: `${fmt.ratio(ratio)} (overhead ${fmt.percent(overhead)})`,
    ...(verdict ? { target: verdict } : {}),
  };
}

/** A time figure (lower is better); ratio = value/baseline. */
export function timeRow(figure: string, valueMs: number, baseline: string, baselineMs: number | undefined, target: { maxMs?: number; strictlyBelow?: boolean } = {}): Row {
  let verdict: Target | undefined;
  if (target.maxMs !== undefined) {
    verdict = target.strictlyBelow
      ? { text: `< ${target.maxMs} ms`, met: valueMs < target.maxMs }
      : { text: `≤ ${target.maxMs} ms`, met: valueMs <= target.maxMs };
  }
  return {
    figure,
    value: fmt.ms(valueMs),
    baseline,
    baselineValue: baselineMs === undefined ? '—' : fmt.ms(baselineMs),
    ratio: baselineMs === undefined ? '—' : fmt.ratio(valueMs / baselineMs),
    ...(verdict ? { target: verdict } : {}),
  };
}

/** A row that only informs (e.g. a p99 beside the baseline's p99). */
export function infoRow(figure: string, value: string, baseline: string, baselineValue: string, ratio = '—'): Row {
  return { figure, value, baseline, baselineValue, ratio };
}

export class Report {
  private readonly missed: string[] = [];

  constructor(private readonly name: string) {
    console.log(`\n=== bench/${name} ===`);
    this.note(`machine: ${availableParallelism()} cores, ${this.load()} (other work on the machine skews every figure)`);
  }

  private load(): string {
    return `load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`;
  }

  note(text: string): void {
    console.log(`  ${text}`);
  }

  table(title: string, rows: Row[]): void {
    const header = ['figure', 'value', 'baseline (same run)', 'baseline value', 'ratio', 'target', 'verdict'];
    const cells = rows.map((row) => [
      row.figure,
      row.value,
      row.baseline,
      row.baselineValue,
      row.ratio,
      row.target?.text ?? '—',
      row.target ? (row.target.met ? 'met' : 'MISSED') : '—',
    ]);
    for (const row of rows) if (row.target && !row.target.met) this.missed.push(`${row.figure} (${row.target.text})`);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (values: string[]) => '| ' + values.map((v, i) => v.padEnd(widths[i]!)).join(' | ') + ' |';
    console.log(`\n${title}`);
    console.log(line(header));
    console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
    for (const c of cells) console.log(line(c));
  }

  /** Prints the missed targets; exits non-zero for them only under BENCH_STRICT=1. */
  finish(): void {
    this.note(`at the end: ${this.load()}`);
    if (this.missed.length === 0) {
      console.log(`\nbench/${this.name}: every target met`);
      return;
    }
    console.log(`\nbench/${this.name}: ${this.missed.length} target(s) MISSED:`);
    for (const miss of this.missed) console.log(`  - ${miss}`);
    if (process.env.BENCH_STRICT === '1') process.exitCode = 1;
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
