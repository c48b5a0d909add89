/**
 * Sum over axes natively for float32 (the bias gradients, broadcast-add gradients, losses),
 * bit for bit the JS kernel's result; int32 and bool run the original.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, nativeKernel } from './native_api';
import { reduceNative } from './reduction';

export function sumConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    return reduceNative(addon, backend, x, axis, keepDims, false);
  });
}
