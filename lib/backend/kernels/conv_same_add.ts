/**
 * `ConvSameAdd`: a stride-1 "same" NHWC conv with an optional bias, plus a residual of the output's
 * shape: y = (conv(x, filter) + bias) + residual, each sum rounded to float32, as FusedConv2D then Add.
 * Inputs { x, filter, residual } and optionally { bias }; no attrs. The composite (lib/nn/conv.ts) is
 * those two kernels; the native one (native/conv.cc `conv2dForward` with a residual) starts oneDNN's
 * output from the residual and adds the conv into it (its sum post-op), which saves the Add's pass
 * over three arrays. The conv sums may run in another order than FusedConv2D's alone (within the
 * usual summation bound); the residual is added once, after the bias, as the composite adds it.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel, planConv } from './native_api';

export const ConvSameAdd = 'ConvSameAdd';

export function convSameAddConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, filter, residual } = args.inputs as Inputs<'x' | 'filter' | 'residual'>;
    const bias = (args.inputs as Partial<Inputs<'bias'>>).bias;
    const xv = float32Values(backend, x), wv = float32Values(backend, filter), rv = float32Values(backend, residual);
    const bv = bias ? float32Values(backend, bias) : null;
    if (!xv || !wv || !rv || (bias && (!bv || bv.length !== filter.shape[3]))) return null;
    const plan = planConv(x.shape, filter.shape, 1, 1, 'same', undefined, 'NHWC');
    if (!plan || !tf.util.arraysEqual(plan.outShape, residual.shape)) return null;
    const y = addon.conv2dForward(xv, plan.xShape, wv, plan.filterShape, bv, plan.outShape, plan.conv, false, rv);
    return backend.makeTensorInfo(plan.outShape, 'float32', y);
  });
}
