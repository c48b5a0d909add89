/**
 * FusedConv2D on oneDNN: conv (as `conv2d.ts`) + bias + activation in one primitive.
 * Native for activation 'linear' or 'relu' and a bias of CO values (shape [CO], [1,..,1,CO], or a
 * single value, repeated); prelu, leakyrelu, elu, relu6, sigmoid and other bias shapes run the
 * original kernel. tfjs's gradient of a fused conv runs Conv2DBackpropInput/-Filter and a Sum for the
 * bias, which are native too.
 */
import * as tf from '@tensorflow/tfjs';
import { NativeAddon, float32Values, nativeKernel, planConv } from './native_api';

/** The bias as CO values, or null when its shape is not a per-output-channel vector or a single value. */
function channelBias(values: Float32Array, shape: readonly number[], outChannels: number): Float32Array | null {
  if (values.length === outChannels && (shape.length === 0 || shape[shape.length - 1] === outChannels)) return values;
  if (values.length === 1) return new Float32Array(outChannels).fill(values[0]);
  return null;
}

export function fusedConv2dConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as tf.FusedConv2DInputs;
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    const activation = a.activation ?? 'linear';
    if ((activation !== 'linear' && activation !== 'relu') || preluActivationWeights) return null;
    const xv = float32Values(backend, x), wv = float32Values(backend, filter);
    if (!xv || !wv) return null;
    const plan = planConv(x.shape, filter.shape, a.strides, a.dilations, a.pad, a.dimRoundingMode, a.dataFormat);
    if (!plan) return null;
    let bv: Float32Array | null = null;
    if (bias) {
      const raw = float32Values(backend, bias);
      bv = raw && channelBias(raw, bias.shape, plan.outShape[3]);
      if (!bv) return null;
    }
    const y = addon.conv2dForward(xv, plan.xShape, wv, plan.filterShape, bv, plan.outShape, plan.conv,
      activation === 'relu');
    return backend.makeTensorInfo(plan.outShape, 'float32', y);
  });
}
