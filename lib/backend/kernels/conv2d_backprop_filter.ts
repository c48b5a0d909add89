/**
 * Conv2DBackpropFilter on oneDNN (the filter gradient of Conv2D): x [N,H,W,CI] NHWC float32,
 * dy [N,OH,OW,CO] -> dfilter of `filterShape` [KH,KW,CI,CO] HWIO. Native for NHWC with the strides
 * and padding `planConv` covers; the rest runs the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel, planConv } from './native_api';

export function conv2dBackpropFilterConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, dy } = args.inputs as Inputs<'x' | 'dy'>;
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const xv = float32Values(backend, x), dyv = float32Values(backend, dy);
    if (!xv || !dyv) return null;
    const plan = planConv(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, a.dataFormat);
    if (!plan || !tf.util.arraysEqual(plan.outShape, dy.shape)) return null;
    const dw = addon.conv2dBackpropFilter(xv, plan.xShape, dyv, plan.outShape, plan.filterShape, plan.conv);
    return backend.makeTensorInfo(plan.filterShape, 'float32', dw);
  });
}
