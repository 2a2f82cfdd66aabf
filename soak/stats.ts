/** The arithmetic of the soak report: percentiles, a least-squares line, a sparkline. */

/** The q-quantile (0..1) of values already sorted ascending; NaN when there are none. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export interface Line {
  /** Change of y per unit of x. */
  slope: number;
  intercept: number;
  /** Share of y's variance the line explains (0..1); NaN when y does not vary. */
  r2: number;
  points: number;
}

/**
 * Ordinary least squares through (x, y). A leak is a trend over many samples, so the slope of the fitted
 * line is the figure, not the difference between two noisy samples.
 */
export function leastSquares(points: readonly { x: number; y: number }[]): Line {
  const n = points.length;
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN, points: n };
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const { x, y } of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
    syy += (y - meanY) ** 2;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX, r2: syy === 0 || sxx === 0 ? NaN : (sxy * sxy) / (sxx * syy), points: n };
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value (at most `width`, averaging neighbours), scaled between the smallest and largest. */
export function sparkline(values: readonly number[], width = 60): string {
  if (values.length === 0) return '';
  const buckets: number[] = [];
  const per = Math.max(1, Math.ceil(values.length / width));
  for (let i = 0; i < values.length; i += per) {
    const slice = values.slice(i, i + per);
    buckets.push(slice.reduce((sum, v) => sum + v, 0) / slice.length);
  }
  const min = Math.min(...buckets);
  const span = Math.max(...buckets) - min;
  return buckets.map((v) => BARS[span === 0 ? 0 : Math.min(BARS.length - 1, Math.floor(((v - min) / span) * BARS.length))]).join('');
}
