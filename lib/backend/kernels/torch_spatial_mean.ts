/**
 * The `TorchSpatialMean` kernel, inputs { x } (NHWC float32): the mean over H and W, [N,1,1,C],
 * summed in PyTorch 1.13's CPU order (the gate's AdaptiveAvgPool2d(1), lib/quant/gate.ts, which
 * registers the composite: a host loop). The native implementation (native/reduce.cc) runs the same
 * float32 additions for all channels at once: bit for bit the composite's result. It falls back to
 * the composite for other dtypes and ranks.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

export const TorchSpatialMean = 'TorchSpatialMean';

export function torchSpatialMeanConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const xv = float32Values(backend, x);
    if (!xv || x.shape.length !== 4 || x.shape[1] * x.shape[2] === 0) return null;
    const [n, , , c] = x.shape;
    return backend.makeTensorInfo([n, 1, 1, c], 'float32', addon.torchSpatialMean(xv, x.shape));
  });
}
