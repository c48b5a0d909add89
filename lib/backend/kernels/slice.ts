/**
 * Slice natively for float32 and int32 when the slice is strided (the JS kernel then walks every
 * element through index arithmetic): Concat's gradient, channel splits, per-sample picks. Contiguous
 * slices stay with the original kernel, which returns a zero-copy view. A copy: bit for bit equal.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, nativeKernel } from './native_api';

export function sliceConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
    const v = backend.data.get(x.dataId).values;
    if (!(v instanceof Float32Array || v instanceof Int32Array)) return null;
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, b, s);
    if (tf.slice_util.isSliceContinous(x.shape, b, s)) return null;
    return backend.makeTensorInfo(s, x.dtype, addon.slice(v, x.shape, b, s));
  });
}
