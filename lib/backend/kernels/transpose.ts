/**
 * Transpose natively for float32 and int32 tensors of any rank: the pixel shuffle's 6-D permutation
 * and its gradient. A copy, so bit for bit the original's result; other dtypes run the original.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, nativeKernel } from './native_api';

export function transposeConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const { perm } = args.attrs as unknown as tf.TransposeAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
    const v = backend.data.get(x.dataId).values;
    if (!(v instanceof Float32Array || v instanceof Int32Array)) return null;
    const outShape = perm.map((p) => x.shape[p]);
    return backend.makeTensorInfo(outShape, x.dtype, addon.transpose(v, x.shape, perm));
  });
}
