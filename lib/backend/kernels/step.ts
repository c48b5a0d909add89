/** Step: x > 0 ? 1 : alpha, NaN stays NaN (the ReLU gradient is dy * Step(x)); natively for float32, see `unary.ts`. */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon } from './native_api';
import { UnaryOp, unaryConfig } from './unary';

export function stepConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return unaryConfig(addon, original, UnaryOp.Step);
}
