/**
 * Order statistics for benchmark samples. Pure.
 *
 * Quantiles use the nearest-rank method (the smallest sample with at least
 * q·n samples at or below it): with 20 samples p99 is the maximum, which is
 * what an honest p99 of a small sample is. No interpolation invents values
 * that were never measured.
 */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank quantile of `values` (need not be sorted); NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within 0..1, got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/** Median as the middle sample (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, min: Number.NaN, median: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { n: values.length, min, median: median(values), p99: quantile(values, 0.99), max, mean: sum / values.length };
}
