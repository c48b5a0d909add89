/**
 * The shared-slope PReLU kernels: their contract, and the fused native implementation for the cpu
 * backend (native/prelu.cc).
 *
 * `PreluShared`, inputs { x, w }: y = x < 0 ? w x : x, w a single value (any shape of size 1).
 * `PreluSharedGrad`, inputs { dy, x, w }: [dx, dw] with dx = x > 0 ? dy : dy w and dw the sum of
 * (x > 0 ? 0 : dy x), the shapes of dy and w.
 *
 * Both have a composite in tfjs ops (lib/nn/prelu.ts), which the native one falls back to for other
 * dtypes, a slope of more than one value, or a dy whose shape is not x's. Native results are bit for
 * bit the composite's (the dw sum runs in element order, in double, as tfjs's Sum).
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

export const PreluShared = 'PreluShared';
export const PreluSharedGrad = 'PreluSharedGrad';

export function preluSharedConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, w } = args.inputs as Inputs<'x' | 'w'>;
    const xv = float32Values(backend, x), wv = float32Values(backend, w);
    if (!xv || !wv || wv.length !== 1) return null;
    return backend.makeTensorInfo(x.shape, 'float32', addon.prelu(xv, wv));
  });
}

export function preluSharedGradConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { dy, x, w } = args.inputs as Inputs<'dy' | 'x' | 'w'>;
    const dyv = float32Values(backend, dy), xv = float32Values(backend, x), wv = float32Values(backend, w);
    if (!dyv || !xv || !wv || wv.length !== 1 || !tf.util.arraysEqual(dy.shape, x.shape)) return null;
    const [dx, dw] = addon.preluGrad(dyv, xv, wv);
    return [backend.makeTensorInfo(dy.shape, 'float32', dx), backend.makeTensorInfo(w.shape, 'float32', dw)];
  });
}
