/** Sub (a - b) natively for float32 with broadcasting; see `binary.ts`. */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon } from './native_api';
import { BinaryOp, binaryConfig } from './binary';

export function subConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return binaryConfig(addon, original, BinaryOp.Sub);
}
