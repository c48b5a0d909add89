/**
 * How well a symmetric and an asymmetric k-bit quantizer fit one layer's activations (spec 10, F-A):
 * the levels of each quantizer, the share of levels that no activation uses, and the quantization
 * error. The quantizers themselves are the library's (`pamsFakeQuant`, `ddtbFakeQuant`); this file
 * only sets their bounds and measures.
 *
 * - symmetric (PAMS-style, max-abs initialisation): alpha = max|x|, levels round(c qmax/alpha) alpha/qmax,
 *   qmax = 2^(k-1) - 1, so at 2 bits the three levels {-alpha, 0, alpha};
 * - asymmetric dual bounds (DDTB's calibration, spec 2.6): l = P_(100-M)(x), u = P_M(x) (numpy linear
 *   percentiles, rounded to float32), on the zero-aligned grid of spec 2.2 with 2^k levels.
 *
 * Statistics are computed on the host in float64 over all values given.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { asymmetricGrid, ddtbFakeQuant, gridValues } from './ddtb_act';
import { pamsFakeQuant } from './pams';
import { percentiles } from './observer';
import { checkBits } from './types';

/**
 * The 2^k de-quantized levels of the DDTB grid for bounds `upper` > `lower`, ascending: the values
 * the library's formula gives at the points l + i (u - l)/n, i = 0..n (n = 2^k - 1), one per code.
 * Example (spec 2.2): k = 2, l = -1.7, u = 2.3 gives {-1.333, 0, 1.333, 2.667}.
 */
export function ddtbLevels(upper: number, lower: number, bits: number): number[] {
  checkBits(bits, 'ddtbLevels');
  if (!(upper > lower)) throw new UserError(`ddtbLevels: upper bound ${upper} is not above lower bound ${lower}`);
  const n = 2 ** bits - 1;
  return tf.tidy(() => {
    const u = tf.tensor1d([upper]);
    const l = tf.tensor1d([lower]);
    const points = tf.tensor1d(Array.from({ length: n + 1 }, (_, i) => (i === n ? upper : lower + (i * (upper - lower)) / n)));
    const clamped = tf.maximum(tf.minimum(points, u), l);
    return Array.from(gridValues(clamped, asymmetricGrid(u, l, bits)).value.dataSync());
  });
}

/**
 * The levels of the symmetric (PAMS) quantizer with bound `alpha` > 0, ascending: pamsFakeQuant at
 * the points i alpha/qmax, i = -qmax..qmax (2 qmax + 1 = 2^k - 1 levels; 3 at 2 bits).
 */
export function pamsLevels(alpha: number, bits: number): number[] {
  checkBits(bits, 'pamsLevels');
  if (!(alpha > 0)) throw new UserError(`pamsLevels: alpha ${alpha} must be positive`);
  const qmax = 2 ** (bits - 1) - 1;
  return tf.tidy(() => {
    const points = tf.tensor1d(Array.from({ length: 2 * qmax + 1 }, (_, i) => ((i - qmax) * alpha) / qmax));
    return Array.from(pamsFakeQuant(points, tf.scalar(alpha), bits).dataSync());
  });
}

/** One quantizer's fit to a layer. */
export interface QuantizerFit {
  /** The quantizer's bounds (symmetric: upper = alpha, lower = -alpha). */
  readonly upper: number;
  readonly lower: number;
  /** Its levels, ascending. */
  readonly levels: number[];
  /** How many activations land on each level. */
  readonly levelCounts: number[];
  /** Share of levels no activation lands on (0..1). */
  readonly unusedShare: number;
  /** Mean squared quantization error, mean((x^ - x)^2), in squared activation units. */
  readonly mse: number;
}

export interface AsymmetryReport {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** |min| / max (0 for post-ReLU inputs; 1 for a range symmetric about 0). Infinity when max <= 0. */
  readonly absMinOverMax: number;
  /** Sample skewness (Fisher-Pearson g1 = m3 / m2^1.5); 0 for constant values. */
  readonly skew: number;
  readonly symmetric: QuantizerFit;
  readonly asymmetric: QuantizerFit;
}

export interface AsymmetryOptions {
  /** k (default 2). */
  readonly bits?: number;
  /** M of the asymmetric bounds P_(100-M), P_M (default 99, as EDSR and SRResNet). */
  readonly percentile?: number;
}

/** Per-level counts of `out` (quantized values) against `levels`, by nearest level. */
function countLevels(out: Float32Array, levels: readonly number[]): number[] {
  const counts = new Array<number>(levels.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    let best = 0;
    for (let j = 1; j < levels.length; j++) if (Math.abs(levels[j] - v) < Math.abs(levels[best] - v)) best = j;
    counts[best] += 1;
  }
  return counts;
}

function fit(values: Float32Array, quantized: Float32Array, upper: number, lower: number, levels: number[]): QuantizerFit {
  let sq = 0;
  for (let i = 0; i < values.length; i++) { const d = quantized[i] - values[i]; sq += d * d; }
  const levelCounts = countLevels(quantized, levels);
  return { upper, lower, levels, levelCounts, unusedShare: levelCounts.filter((c) => c === 0).length / levels.length, mse: sq / values.length };
}

/**
 * Both quantizers fitted to `values` (one layer's activations, any layout), with the layer's range
 * statistics. Throws a UserError for empty or non-finite input, or when P_M == P_(100-M).
 */
export function compareQuantizers(values: Float32Array, options: AsymmetryOptions = {}): AsymmetryReport {
  const bits = options.bits ?? 2;
  const m = options.percentile ?? 99;
  if (values.length === 0) throw new UserError('compareQuantizers: no values');
  let min = Infinity, max = -Infinity, sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new UserError(`compareQuantizers: non-finite value ${v} at index ${i}`);
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / values.length;
  let m2 = 0, m3 = 0;
  for (let i = 0; i < values.length; i++) { const d = values[i] - mean; m2 += d * d; m3 += d * d * d; }
  m2 /= values.length; m3 /= values.length;
  const skew = m2 > 0 ? m3 / m2 ** 1.5 : 0;

  const alpha = Math.fround(Math.max(Math.abs(min), Math.abs(max)));
  if (!(alpha > 0)) throw new UserError('compareQuantizers: every value is 0, so the symmetric bound would be 0');
  const [upper, lower] = percentiles(values, [m, 100 - m]).map(Math.fround);
  if (!(upper > lower)) throw new UserError(`compareQuantizers: P${m} == P${100 - m} (${upper}), so the asymmetric bounds would be equal`);
  // tensors out of the tidy, values after it (a tidy walks every key of a typed array it returns)
  const outs = tf.tidy(() => {
    const x = tf.tensor1d(values);
    return [pamsFakeQuant(x, tf.scalar(alpha), bits), ddtbFakeQuant(x, tf.tensor1d([upper]), tf.tensor1d([lower]), bits)];
  });
  const [symOut, asymOut] = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return {
    count: values.length, min, max, mean,
    absMinOverMax: max > 0 ? Math.abs(min) / max : Infinity,
    skew,
    symmetric: fit(values, symOut, alpha, -alpha, pamsLevels(alpha, bits)),
    asymmetric: fit(values, asymOut, upper, lower, ddtbLevels(upper, lower, bits)),
  };
}
