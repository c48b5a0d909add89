/**
 * Conv2D on oneDNN: x [N,H,W,CI] NHWC float32, filter [KH,KW,CI,CO] HWIO -> [N,OH,OW,CO].
 * Native for NHWC with any stride, dilation and padding that oneDNN's size rule covers
 * (`planConv`); NCHW and other dtypes run the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel, planConv } from './native_api';

export function conv2dConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, filter } = args.inputs as Inputs<'x' | 'filter'>;
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    const xv = float32Values(backend, x), wv = float32Values(backend, filter);
    if (!xv || !wv) return null;
    const plan = planConv(x.shape, filter.shape, a.strides, a.dilations, a.pad, a.dimRoundingMode, a.dataFormat);
    if (!plan) return null;
    const y = addon.conv2dForward(xv, plan.xShape, wv, plan.filterShape, null, plan.outShape, plan.conv, false);
    return backend.makeTensorInfo(plan.outShape, 'float32', y);
  });
}
