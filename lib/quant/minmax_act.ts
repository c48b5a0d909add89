/**
 * The gate's 2-bit activation quantizer, the official `quant_activation` (spec 3.1): asymmetric
 * min/max over the whole tensor (the batch included), recomputed on every call,
 *   s = fl(fl(1/(max - min)) * (2^k - 1)),  z = round(s * min) + 2^(k-1),  out = (round(s*a - z) + z)/s,
 * the same zero-aligned grid as the DDTB formula (`asymmetricGrid` / `gridValues`), no clamp needed.
 * Gradient: `none` detaches (the official code: nothing upstream learns through it), `ste` passes the
 * gradient straight through (the "paper" variant, spec 11.7).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { asymmetricGrid, gridValues } from './ddtb_act';
import { detach, straightThrough } from './ste';
import { checkBits } from './types';

export type MinMaxGradient = 'none' | 'ste';

/**
 * x: any shape, float32. Returns the fake-quantized x (same shape). `layer` names the quantizer in the
 * error raised when max(x) == min(x) (the official code would produce NaN there). Reads max and min
 * back from the backend for that check.
 */
export function minMaxFakeQuant(x: tf.Tensor, bits: number, gradient: MinMaxGradient, layer: string): tf.Tensor {
  checkBits(bits, `${layer}: min/max quantizer`);
  const forward = (a: tf.Tensor): tf.Tensor => tf.tidy(() => {
    const hi = tf.max(a);
    const lo = tf.min(a);
    const [mx, mn] = tf.stack([hi, lo]).dataSync();
    if (!(mx > mn)) {
      throw new UserError(`${layer}: ${bits}-bit min/max quantizer: max == min (${mx}) over the batch, so the scale is undefined`);
    }
    return gridValues(a, asymmetricGrid(hi, lo, bits)).value;
  });
  return gradient === 'none' ? forward(detach(x)) : straightThrough(x, forward);
}
