/** Neg: -x; natively for float32, see `unary.ts`. */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon } from './native_api';
import { UnaryOp, unaryConfig } from './unary';

export function negConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return unaryConfig(addon, original, UnaryOp.Neg);
}
