/**
 * Mean over axes natively for float32: as the JS kernel, every element is divided by the count in
 * float32 and the quotients are summed, so results are bit for bit equal; other dtypes run the original.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, nativeKernel } from './native_api';
import { reduceNative } from './reduction';

export function meanConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
    return reduceNative(addon, backend, x, axis, keepDims, true);
  });
}
