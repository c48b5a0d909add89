/**
 * Shared by `sum.ts` and `mean.ts`: the output shape and call of the addon's reduction.
 * Summation order is tfjs's (see native/reduce.cc), so results are bit for bit the JS kernels'.
 */
import * as tf from '@tensorflow/tfjs';
import { CpuBackendLike, NativeAddon, float32Values } from './native_api';

/** Sum (mean = false) or Mean of float32 `x` over `axis`; null for other dtypes or empty tensors. */
export function reduceNative(
  addon: NativeAddon, backend: CpuBackendLike, x: tf.TensorInfo, axis: number | number[] | null | undefined,
  keepDims: boolean, mean: boolean,
): tf.TensorInfo | null {
  const xv = float32Values(backend, x);
  if (!xv || xv.length === 0) return null;
  const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape);
  const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  const divisor = mean ? Math.fround(tf.util.sizeFromShape(reduceShape)) : 0;
  const y = addon.reduce(xv, x.shape, axes, divisor);
  const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
  return backend.makeTensorInfo(shape, 'float32', y);
}
