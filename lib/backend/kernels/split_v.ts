/**
 * SplitV (tf.split, and the gradient of Concat) as one Slice per piece through the Slice kernel
 * registered now (native for strided pieces, the original's zero-copy view for contiguous ones):
 * tfjs's own SplitV calls its JS slice directly, which walks every element of a strided piece.
 * float32 and int32; other dtypes run the original.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, nativeKernel } from './native_api';

export function splitVConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  void addon;
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
    const slice = tf.getKernel(tf.Slice, original.backendName);
    if (!slice) return null;
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, a);
    const begin: number[] = new Array(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[a] = s;
      const piece = slice.kernelFunc({ inputs: { x }, backend: args.backend, attrs: { begin: begin.slice(), size } }) as tf.TensorInfo;
      begin[a] += s;
      return piece;
    });
  });
}
