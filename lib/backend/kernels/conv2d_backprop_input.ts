/**
 * Conv2DBackpropInput on oneDNN (the input gradient of Conv2D): dy [N,OH,OW,CO] NHWC float32,
 * filter [KH,KW,CI,CO] HWIO -> dx of `inputShape` [N,H,W,CI]. Native for NHWC with the strides and
 * padding `planConv` covers; the rest runs the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel, planConv } from './native_api';

export function conv2dBackpropInputConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { dy, filter } = args.inputs as Inputs<'dy' | 'filter'>;
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const dyv = float32Values(backend, dy), wv = float32Values(backend, filter);
    if (!dyv || !wv) return null;
    const plan = planConv(a.inputShape, filter.shape, a.strides, 1, a.pad, a.dimRoundingMode, a.dataFormat);
    if (!plan || !tf.util.arraysEqual(plan.outShape, dy.shape)) return null;
    const dx = addon.conv2dBackpropInput(dyv, plan.outShape, wv, plan.filterShape, plan.xShape, plan.conv);
    return backend.makeTensorInfo(plan.xShape, 'float32', dx);
  });
}
