/** The soak's one-screen report. */
import type { KindSummary, Recorder } from './recorder.js';
import type { Sample } from './sampler.js';
import type { LogScan } from './server.js';
import { leastSquares, quantile, sparkline, type Line } from './stats.js';

export interface ReportInput {
  title: string;
  setup: string;
  elapsedSeconds: number;
  warmupSeconds: number;
  recorder: Recorder;
  samples: Sample[];
  log: LogScan | undefined;
  exitCode: number | null | undefined;
  /** Problems found outside the recorder (server 5xx, log lines, exit code). */
  problems: string[];
}

export interface Figures {
  rssSlope: Line;
  heapSlope: Line;
  lagMaxMs: number;
  lagP99WorstMs: number;
}

const num = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const int = (value: number) => value.toLocaleString('en-US');
const signed = (value: number, digits = 2) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}` : '—');

function row(summary: KindSummary): string {
  return (
    summary.kind.padEnd(24) +
    int(summary.count).padStart(10) +
    int(summary.errors).padStart(8) +
    num(summary.p50Ms).padStart(9) +
    num(summary.p99Ms).padStart(9) +
    num(summary.maxMs).padStart(9)
  );
}

/** Least-squares slopes over the samples after warm-up, in MiB per minute. */
export function figures(samples: Sample[], warmupSeconds: number): Figures {
  const steady = samples.filter((sample) => sample.t >= warmupSeconds);
  const line = (pick: (sample: Sample) => number) =>
    leastSquares(steady.filter((sample) => Number.isFinite(pick(sample))).map((sample) => ({ x: sample.t / 60, y: pick(sample) })));
  const lags = samples.map((sample) => sample.lagP99Ms).filter(Number.isFinite);
  return {
    rssSlope: line((sample) => sample.rssMiB),
    heapSlope: line((sample) => sample.heapUsedMiB),
    lagMaxMs: Math.max(...samples.map((sample) => sample.lagMaxMs).filter(Number.isFinite)),
    lagP99WorstMs: lags.length > 0 ? Math.max(...lags) : NaN,
  };
}

export function printReport(input: ReportInput): Figures {
  const out: string[] = [];
  const { recorder, samples } = input;
  out.push(`== ${input.title}`);
  out.push(`   ${input.setup}`);
  out.push('kind'.padEnd(24) + 'count'.padStart(10) + 'errors'.padStart(8) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9) + 'max ms'.padStart(9));
  for (const summary of recorder.summaries()) out.push(row(summary));
  const total = recorder.totalRequests;
  out.push(`${'total'.padEnd(24)}${int(total).padStart(10)}${int(recorder.totalErrors).padStart(8)}   ${num(total / input.elapsedSeconds, 0)} per second over ${num(input.elapsedSeconds, 0)} s`);

  const errors = recorder.errorList();
  if (errors.length > 0) {
    out.push('errors by kind:');
    for (const error of errors.slice(0, 8)) out.push(`  ${int(error.count).padStart(6)} × ${error.what}${error.samples[0] ? `  e.g. ${error.samples[0]}` : ''}`);
    if (errors.length > 8) out.push(`  … and ${errors.length - 8} more kinds of error`);
  }

  const result = figures(samples, input.warmupSeconds);
  const rss = samples.map((sample) => sample.rssMiB);
  if (samples.length > 0) {
    out.push(`RSS MiB ${sparkline(rss)}  first ${num(rss[0]!)}  min ${num(Math.min(...rss))}  max ${num(Math.max(...rss))}  last ${num(rss[rss.length - 1]!)}`);
    const step = Math.max(1, Math.ceil(samples.length / 10));
    const shown = samples.filter((_sample, index) => index % step === 0 || index === samples.length - 1);
    out.push(`  t s  ${shown.map((sample) => num(sample.t, 0).padStart(6)).join('')}`);
    out.push(`  MiB  ${shown.map((sample) => num(sample.rssMiB, 0).padStart(6)).join('')}`);
    out.push(`  heap ${shown.map((sample) => num(sample.heapUsedMiB, 0).padStart(6)).join('')}`);
    out.push(`  lag  ${shown.map((sample) => num(sample.lagMaxMs, 0).padStart(6)).join('')}  (ms, max of each interval)`);
    // Requests the server counted per second since the previous sample shown: a slowdown over time shows here.
    const rates = shown.map((sample, index) => {
      const previous = index === 0 ? undefined : shown[index - 1]!;
      return previous ? (sample.serverRequests - previous.serverRequests) / (sample.t - previous.t) : NaN;
    });
    out.push(`  rps  ${rates.map((rate) => num(rate, 0).padStart(6)).join('')}  (HTTP requests/s the server counted)`);
  }
  const { rssSlope, heapSlope } = result;
  out.push(
    `RSS slope after warm-up (t ≥ ${num(input.warmupSeconds, 0)} s, ${rssSlope.points} samples): ${signed(rssSlope.slope)} MiB/min (r² ${num(rssSlope.r2, 2)}); ` +
      `heap used ${signed(heapSlope.slope)} MiB/min`,
  );
  const lagP99s = Float64Array.from(samples.map((sample) => sample.lagP99Ms).filter(Number.isFinite)).sort();
  out.push(`event-loop lag: max ${num(result.lagMaxMs)} ms; p99 per interval: median ${num(quantile(lagP99s, 0.5))} ms, worst ${num(result.lagP99WorstMs)} ms`);
  const first = samples[0];
  const last = samples[samples.length - 1];
  const log = input.log;
  out.push(
    `server: ${first && last ? int(last.serverRequests - first.serverRequests) : '—'} requests counted, ` +
      `${first && last ? int(last.server5xx - first.server5xx) : '—'} answered 5xx; ` +
      `log ${log ? `${int(log.lines)} lines, ${int(log.problems)} warn/error` : 'not read'}; exit ${String(input.exitCode)}`,
  );
  for (const problem of input.problems) out.push(`  ! ${problem}`);
  const failed = recorder.totalErrors > 0 || input.problems.length > 0;
  out.push(failed ? `result: FAILED (${int(recorder.totalErrors)} request errors, ${input.problems.length} server problems)` : 'result: OK, no errors');
  console.log(out.join('\n'));
  return result;
}
