/**
 * The BatchNorm2d kernels over NHWC float32: their contract, and the native implementation for the
 * cpu backend (native/batchnorm.cc). The composites (lib/nn/batchnorm.ts) define the results; the
 * native ones give them bit for bit.
 *
 * `BatchNormStats`, inputs { x } [N,H,W,C]: [mean, varSum], each [C] (PyTorch's contiguous CPU
 *   statistics: double sums per channel over the N*H*W rows in order).
 * `BatchNormApply`, inputs { x, a, b }: y = fma(x, a_c, b_c) per channel c, the shape of x.
 * `BatchNormGrad`, inputs { dy, x, mean, invstd, gamma }, attrs { training }: [dx, dgamma, dbeta].
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

export const BatchNormStats = 'BatchNormStats';
export const BatchNormApply = 'BatchNormApply';
export const BatchNormGrad = 'BatchNormGrad';

const channelsOf = (x: tf.TensorInfo) => x.shape[x.shape.length - 1];

export function batchNormStatsConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const xv = float32Values(backend, x);
    if (!xv || x.shape.length !== 4 || xv.length === 0) return null;
    const c = channelsOf(x);
    const [mean, varSum] = addon.bnStats(xv, c);
    return [backend.makeTensorInfo([c], 'float32', mean), backend.makeTensorInfo([c], 'float32', varSum)];
  });
}

export function batchNormApplyConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, a, b } = args.inputs as Inputs<'x' | 'a' | 'b'>;
    const xv = float32Values(backend, x), av = float32Values(backend, a), bv = float32Values(backend, b);
    const c = channelsOf(x);
    if (!xv || !av || !bv || av.length !== c || bv.length !== c || xv.length === 0) return null;
    return backend.makeTensorInfo(x.shape, 'float32', addon.bnApply(xv, av, bv));
  });
}

export function batchNormGradConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { dy, x, mean, invstd, gamma } = args.inputs as Inputs<'dy' | 'x' | 'mean' | 'invstd' | 'gamma'>;
    const { training } = args.attrs as unknown as { training: boolean };
    const v = [dy, x, mean, invstd, gamma].map((t) => float32Values(backend, t));
    const c = channelsOf(x);
    if (v.some((t) => !t) || !tf.util.arraysEqual(dy.shape, x.shape) || v[0]!.length === 0) return null;
    if (v.slice(2).some((t) => t!.length !== c)) return null;
    const [dx, dgamma, dbeta] = addon.bnGrad(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, training ? 1 : 0);
    return [backend.makeTensorInfo(dy.shape, 'float32', dx), backend.makeTensorInfo([c], 'float32', dgamma),
      backend.makeTensorInfo([c], 'float32', dbeta)];
  });
}
