/**
 * The PAMS baseline activation quantizer (spec 5.3; Li et al. 2020), for ablations: symmetric, with
 * one trainable bound alpha per layer (parameter `alpha` [1], group `bound`, initial 10):
 *   c = clamp(x, -alpha, alpha),   qmax = 2^(k-1) - 1,   x^ = round(c * qmax / alpha) * alpha / qmax
 * with straight-through rounding, so alpha gets (x^ - x)/alpha inside, +1 above and -1 below the
 * range (the gradient autodiff of the PAMS code gives; at an exact tie x = +-alpha it goes to x). One
 * named kernel with one gradient (`PamsFakeQuant`), fused natively on the cpu backend.
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
import { registerCompositeKernel } from '../backend/composite';
import { PamsFakeQuant, PamsFakeQuantAttrs, PamsFakeQuantGrad } from '../backend/kernels/pams_fake_quant';
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
 * The composite forward of kernel `PamsFakeQuant` (lib/backend/kernels/pams_fake_quant.ts states the
 * contract): c = max(min(x, a), -a) (x itself without the clamp), then round(c qmax / a) a / qmax,
 * in tfjs ops on any backend. The native kernel of the cpu backend reproduces it bit for bit.
 */
function pamsComposite(inputs: Readonly<Record<string, tf.Tensor>>, attrs: tf.NamedAttrMap): tf.Tensor {
  const { x, alpha } = inputs;
  const qmax = 2 ** ((attrs.bits as number) - 1) - 1;
  const a = tf.reshape(alpha, []);
  const c = attrs.clamp ? tf.maximum(tf.minimum(x, a), tf.neg(a)) : x;
  return tf.div(tf.mul(tf.round(tf.div(tf.mul(c, qmax), a)), a), qmax);
}

/**
 * The composite backward, kernel `PamsFakeQuantGrad` (straight-through rounding, as autodiff of the
 * PAMS code gives): in = [-a <= x <= a] (1 everywhere without the clamp; an exact tie goes to x),
 * dx = dy in, dalpha = sum of dy ([x > a] - [x < -a] + in (x^ - x) / a) over all elements.
 */
function pamsGradComposite(inputs: Readonly<Record<string, tf.Tensor>>, attrs: tf.NamedAttrMap): tf.Tensor[] {
  const { dy, x, alpha, output } = inputs;
  const a = tf.reshape(alpha, []);
  const residual = tf.div(tf.sub(output, x), a);
  if (!attrs.clamp) return [tf.clone(dy), tf.reshape(tf.sum(tf.mul(dy, residual)), alpha.shape)];
  const na = tf.neg(a);
  const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(x, na), tf.lessEqual(x, a)), 'float32');
  const side = tf.sub(tf.cast(tf.greater(x, a), 'float32'), tf.cast(tf.less(x, na), 'float32'));
  const term = tf.add(side, tf.mul(inside, residual));
  return [tf.mul(dy, inside), tf.reshape(tf.sum(tf.mul(dy, term)), alpha.shape)];
}

/** The one gradient of `PamsFakeQuant`: the backward kernel, run once for both inputs. */
const pamsGradConfig: tf.GradConfig = {
  kernelName: PamsFakeQuant,
  inputsToSave: ['x', 'alpha'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, alpha, output] = saved;
    const [dx, da] = tf.engine().runKernel(PamsFakeQuantGrad, { dy: dy as tf.Tensor, x, alpha, output }, attrs) as tf.Tensor[];
    return { x: () => dx, alpha: () => da };
  },
};

registerCompositeKernel(PamsFakeQuant, pamsComposite);
registerCompositeKernel(PamsFakeQuantGrad, pamsGradComposite);
if (!tf.getGradient(PamsFakeQuant)) tf.registerGradient(pamsGradConfig);

/**
 * THE PAMS fake quantization (see the file header): kernel `PamsFakeQuant`, fused on the cpu
 * backend. x: float32, any shape; alpha: one value (any shape of size 1). `clamp: false` is the
 * epoch-1 reset variant.
 */
export function pamsFakeQuant(x: tf.Tensor, alpha: tf.Tensor, bits: number, clamp = true): tf.Tensor {
  checkBits(bits, 'pamsFakeQuant');
  if (bits < 2) throw new Error('pamsFakeQuant: needs at least 2 bits (qmax = 2^(k-1) - 1 > 0)');
  if (alpha.size !== 1) throw new Error(`pamsFakeQuant: alpha must hold one value, got shape [${alpha.shape.join(',')}]`);
  const attrs: PamsFakeQuantAttrs = { bits, clamp };
  // the tidy disposes the casts (new handles even for float32 inputs); the kernel's output survives it
  return tf.tidy(() => tf.engine().runKernel(PamsFakeQuant, { x: tf.cast(x, 'float32'), alpha: tf.cast(alpha, 'float32') }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
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
