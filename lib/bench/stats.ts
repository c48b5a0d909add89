/**
 * The statistics of the benchmark: medians, quartiles and a least-squares slope. Pure functions on
 * plain numbers; none of them reorders its input.
 */

function sorted(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new Error(`${what}: no values`);
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`${what}: value ${v} is not finite`);
  return [...values].sort((a, b) => a - b);
}

/**
 * The q-quantile (q in [0, 1]) with linear interpolation between order statistics (numpy's default,
 * Hyndman-Fan type 7): position (n - 1) q in the sorted values.
 * Example: quantile([1, 2, 3, 4], 0.25) = 1.75.
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const s = sorted(values, 'quantile');
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The median: the middle value, or the mean of the two middle values. median([3, 1, 2, 10]) = 2.5. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The first and third quartiles [q25, q75] (type 7); their difference is the inter-quartile range. */
export function quartiles(values: readonly number[]): [number, number] {
  return [quantile(values, 0.25), quantile(values, 0.75)];
}

/** Least-squares slope of y over x (units of y per unit of x). Needs two distinct x. */
export function slope(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`slope: ${x.length} x values but ${y.length} y values`);
  if (x.length < 2) throw new Error('slope: needs at least two points');
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  if (sxx === 0) throw new Error('slope: every x is the same');
  return sxy / sxx;
}

/** Rounds to `digits` decimals for reports (keeps JSON short; never used before a statistic). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
