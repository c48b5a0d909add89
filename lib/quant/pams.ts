/**
 * The PAMS baseline activation quantizer (spec 5.3; Li et al. 2020), for ablations: symmetric, with
 * one trainable bound alpha per layer (parameter `alpha` [1], group `bound`, initial 10):
 *   c = clamp(x, -alpha, alpha),   qmax = 2^(k-1) - 1,   x^ = round(c * qmax / alpha) * alpha / qmax
 * with straight-through rounding, so alpha gets (x^ - c)/alpha inside, about +1 above and -1 below
 * the range (tfjs autodiff through `roundSte`; at an exact tie x = +-alpha the gradient goes to x).
 *
 * Initialisation of alpha, both variants of spec 5.3 (`init`):
 * - `ddtb-first-batch` (default; the variant kept in the DDTB code): at the first training forward
 *   while alpha is still 10, alpha = batch mean of the per-sample max|x|; then quantize as usual;
 * - `pams-epoch1-reset` (the PAMS code): while `initializing` is set from outside (epoch 1), every
 *   training batch resets alpha to that value and the output is quantized without the clamp
 *   (x^ = round(x * qmax / alpha) * alpha / qmax); clear `initializing` afterwards and alpha keeps the
 *   last batch's value (PAMS's EMA branch never runs, spec 5.3).
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { UserError } from '../errors';
import { detach, roundSte } from './ste';
import { BatchRangeRecorder } from './observer';
import { QuantMode, checkBits } from './types';

export type PamsInit = 'ddtb-first-batch' | 'pams-epoch1-reset';

export interface PamsActConfig {
  /** k, at least 2 (qmax = 2^(k-1) - 1). */
  readonly bits: number;
  /** Default `ddtb-first-batch`. */
  readonly init?: PamsInit;
}

/** Initial alpha of a PAMS quantizer. */
export const PAMS_INITIAL_ALPHA = 10;

/**
 * The PAMS initial alpha of a batch x [N,H,W,C]: the mean over samples of max|x_i| (float32).
 * Example: samples with max|x| 2 and 4 give 3.
 */
export function pamsInitialAlpha(x: tf.Tensor4D): number {
  const perSample = tf.tidy(() => tf.max(tf.abs(x), [1, 2, 3]));
  const values = perSample.dataSync();
  perSample.dispose();
  let sum = 0;
  for (const v of values) sum += v;
  return Math.fround(sum / values.length);
}

/**
 * The PAMS formula (see the file header). x: any shape; alpha: a scalar-sized tensor (broadcast
 * before use, so its gradient is summed back). `clamp: false` is the epoch-1 reset variant.
 */
export function pamsFakeQuant(x: tf.Tensor, alpha: tf.Tensor, bits: number, clamp = true): tf.Tensor {
  checkBits(bits, 'pamsFakeQuant');
  if (bits < 2) throw new Error('pamsFakeQuant: needs at least 2 bits (qmax = 2^(k-1) - 1 > 0)');
  if (alpha.size !== 1) throw new Error(`pamsFakeQuant: alpha must hold one value, got shape [${alpha.shape.join(',')}]`);
  const qmax = 2 ** (bits - 1) - 1;
  return tf.tidy(() => {
    const a = tf.broadcastTo(tf.reshape(alpha, []), x.shape);
    // The comparisons carry no gradient (both sides detached: tfjs has no gradient for Greater/Less,
    // and x carries one in training), the selected branch does.
    const ad = detach(a);
    const xd = detach(x);
    const c = clamp ? tf.where(tf.greater(xd, ad), a, tf.where(tf.less(xd, tf.neg(ad)), tf.neg(a), x)) : x;
    return tf.div(tf.mul(roundSte(tf.div(tf.mul(c, qmax), a)), a), qmax);
  });
}

/** A PAMS activation quantizer module; `apply(x)` with x [N,H,W,C]. */
export class PamsActQuantizer extends Module {
  readonly site: string;
  readonly channels: number;
  readonly bits: number;
  readonly init: PamsInit;
  readonly alpha: tf.Variable;
  mode: QuantMode = 'quantize';
  /** `pams-epoch1-reset` only: set during the initialisation epoch. */
  initializing = false;
  readonly statistics = new BatchRangeRecorder();

  constructor(site: string, channels: number, config: PamsActConfig) {
    super();
    checkBits(config.bits, `${site}: PAMS quantizer`);
    if (config.bits < 2) throw new Error(`${site}: PAMS quantizer needs at least 2 bits`);
    this.site = site;
    this.channels = channels;
    this.bits = config.bits;
    this.init = config.init ?? 'ddtb-first-batch';
    this.alpha = this.param('alpha', tf.tensor1d([PAMS_INITIAL_ALPHA]), { group: 'bound' });
  }

  /** The static bounds (alpha, -alpha). */
  bounds(): { upper: number; lower: number } {
    const a = this.alpha.dataSync()[0];
    return { upper: a, lower: -a };
  }

  variables(): { bounds: tf.Variable[]; gate: tf.Variable[] } {
    return { bounds: [this.alpha], gate: [] };
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.channels) {
      throw new Error(`${this.site}: expected input [N,H,W,${this.channels}], got [${x.shape.join(',')}]`);
    }
    if (this.mode === 'float') {
      this.statistics.record(x);
      return tf.clone(x);
    }
    let clamp = true;
    if (this.training) {
      const reset = this.init === 'pams-epoch1-reset' && this.initializing;
      const first = this.init === 'ddtb-first-batch' && this.alpha.dataSync()[0] === PAMS_INITIAL_ALPHA;
      if (reset || first) {
        const a = pamsInitialAlpha(x);
        if (!(a > 0)) throw new UserError(`${this.site}: PAMS initialisation: max|x| is 0 over the batch, so alpha would be 0`);
        tf.tidy(() => this.alpha.assign(tf.tensor1d([a])));
      }
      clamp = !reset;
    }
    if (!(this.alpha.dataSync()[0] > 0)) throw new UserError(`${this.site}: PAMS alpha ${this.alpha.dataSync()[0]} is not positive`);
    return pamsFakeQuant(x, this.alpha, this.bits, clamp) as tf.Tensor4D;
  }
}
