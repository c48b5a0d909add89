/** Abs: |x| (the L1 loss); natively for float32, see `unary.ts`. */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon } from './native_api';
import { UnaryOp, unaryConfig } from './unary';

export function absConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return unaryConfig(addon, original, UnaryOp.Abs);
}
