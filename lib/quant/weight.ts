/**
 * Weight quantizers (spec section 5): per tensor, recomputed on every forward, biases stay FP.
 * Inputs and outputs are conv filters in any layout (HWIO inside the library); the range is taken
 * over all elements, so the layout does not matter.
 *
 * - `asym99` (EDSR, SRResNet; spec 5.1): clamp to [lo, hi] = float32(numpy P1, P99 of W), then the
 *   zero-aligned asymmetric grid of the DDTB formula. Gradient 1 inside, 0 outside, 1/2 at an exact
 *   tie with a bound (PyTorch 1.13's max/min split); the percentiles are constants.
 * - `asym` (RDN; spec 5.2): the same grid over [min W, max W], no clamp; identity gradient.
 * - `sym` (the gate, PAMS; spec 5.3): m = max|W| + 1e-8, qmax = 2^(k-1) - 1,
 *   W^ = round(W*qmax/m)*m/qmax (ternary {-m, 0, m} at 2 bits); identity gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { asymmetricGrid, ddtbFakeQuant, gridValues } from './ddtb_act';
import { percentiles } from './observer';
import { straightThrough } from './ste';
import { checkBits } from './types';
import type { WeightMethod } from './graph';

/**
 * The clipping range of `asym99`: lo = float32(P_(100-pct)), hi = float32(P_pct) of all elements of
 * w, numpy 1.24 linear percentiles computed in float64 and then rounded to float32 (fixture README
 * item 4). Reads w back from the backend.
 */
export function percentileClipRange(w: tf.Tensor, pct = 99): { lo: number; hi: number } {
  const [hi, lo] = percentiles(w.dataSync() as Float32Array, [pct, 100 - pct]);
  return { lo: Math.fround(lo), hi: Math.fround(hi) };
}

/** `asym99`: percentile-clipped asymmetric k-bit weights; see the file header. */
export function quantizeWeightAsym99<T extends tf.Tensor>(w: T, bits: number, pct = 99, layer = 'weight'): T {
  checkBits(bits, `${layer}: asym99 weight quantizer`);
  const { lo, hi } = percentileClipRange(w, pct);
  if (!(hi > lo)) throw new UserError(`${layer}: asym99 weight quantizer: P${pct} == P${100 - pct} (${hi}), so the scale is undefined`);
  // The DDTB fake quantization with constant bounds: the same formula and, towards w, the same
  // tie-split gradient (the bound gradients it also produces reach nothing).
  return tf.tidy(() => ddtbFakeQuant(w, tf.scalar(hi), tf.scalar(lo), bits) as T);
}

/** `asym`: min/max asymmetric k-bit weights, identity gradient; see the file header. */
export function quantizeWeightAsym<T extends tf.Tensor>(w: T, bits: number, layer = 'weight'): T {
  checkBits(bits, `${layer}: asym weight quantizer`);
  return straightThrough(w, (wi) => tf.tidy(() => {
    const hi = tf.max(wi);
    const lo = tf.min(wi);
    const [mx, mn] = tf.stack([hi, lo]).dataSync();
    if (!(mx > mn)) throw new UserError(`${layer}: asym weight quantizer: max == min (${mx}), so the scale is undefined`);
    return gridValues(wi, asymmetricGrid(hi, lo, bits)).value;
  }));
}

/** `sym`: symmetric max-abs k-bit weights (k >= 2), identity gradient; see the file header. */
export function quantizeWeightSym<T extends tf.Tensor>(w: T, bits: number, layer = 'weight'): T {
  checkBits(bits, `${layer}: sym weight quantizer`);
  if (bits < 2) throw new Error(`${layer}: sym weight quantizer needs at least 2 bits (qmax = 2^(k-1) - 1 > 0)`);
  const qmax = 2 ** (bits - 1) - 1;
  return straightThrough(w, (wi) => tf.tidy(() => {
    const m = tf.add(tf.max(tf.abs(wi)), 1e-8);
    return tf.div(tf.mul(tf.round(tf.div(tf.mul(wi, qmax), m)), m), qmax);
  }));
}

/** A weight quantizer for one conv: filter in, quantized filter out (the same shape). */
export type WeightQuantizeFn = <T extends tf.Tensor>(w: T) => T;

/**
 * The weight quantizer `method` at `bits` bits for the conv `layer` (named in errors). `pct` is the
 * asym99 clipping percentile (99).
 */
export function weightQuantizer(method: WeightMethod, bits: number, layer: string, pct = 99): WeightQuantizeFn {
  checkBits(bits, `${layer}: weight quantizer`);
  switch (method) {
    case 'asym99': return (w) => quantizeWeightAsym99(w, bits, pct, layer);
    case 'asym': return (w) => quantizeWeightAsym(w, bits, layer);
    case 'sym': return (w) => quantizeWeightSym(w, bits, layer);
  }
}
