/** Relu: max(0, x), NaN stays NaN; natively for float32, see `unary.ts`. */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon } from './native_api';
import { UnaryOp, unaryConfig } from './unary';

export function reluConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return unaryConfig(addon, original, UnaryOp.Relu);
}
