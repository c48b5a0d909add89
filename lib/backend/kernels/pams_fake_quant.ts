/**
 * The PAMS fake-quant kernels: their contract, and the fused native implementation for the cpu
 * backend (native/pams_quant.cc).
 *
 * `PamsFakeQuant`, inputs { x, alpha }, attrs { bits, clamp }: x^ = the PAMS formula of x with the
 * single bound alpha (any shape of size 1) at `bits` bits (lib/quant/pams.ts states it); `clamp`
 * false is the initialisation epoch's variant without the clamp. Output: the shape of x.
 *
 * `PamsFakeQuantGrad`, inputs { dy, x, alpha, output } (output: the forward's x^), attrs as above:
 * [dx, dalpha], the shapes of dy and alpha (straight-through rounding; lib/quant/pams.ts).
 *
 * Both have a composite implementation in tfjs ops (lib/quant/pams.ts, for every backend), which the
 * native one falls back to for other dtypes, an alpha of more than one value or a dy whose shape is
 * not x's. Native results are bit for bit the composite's, the alpha gradient included (its sum runs
 * in element order, in double, as tfjs's Sum).
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

export const PamsFakeQuant = 'PamsFakeQuant';
export const PamsFakeQuantGrad = 'PamsFakeQuantGrad';

/** Attributes of both kernels. */
export interface PamsFakeQuantAttrs {
  /** k, the bit width (2..16; qmax = 2^(k-1) - 1). */
  readonly bits: number;
  /** false: no clamp (the `pams-epoch1-reset` initialisation epoch). */
  readonly clamp: boolean;
}

export function pamsFakeQuantConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, alpha } = args.inputs as Inputs<'x' | 'alpha'>;
    const { bits, clamp } = args.attrs as unknown as PamsFakeQuantAttrs;
    const xv = float32Values(backend, x), av = float32Values(backend, alpha);
    if (!xv || !av || av.length !== 1) return null;
    return backend.makeTensorInfo(x.shape, 'float32', addon.pamsFakeQuant(xv, av, bits, clamp ? 1 : 0));
  });
}

export function pamsFakeQuantGradConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { dy, x, alpha, output } = args.inputs as Inputs<'dy' | 'x' | 'alpha' | 'output'>;
    const { bits, clamp } = args.attrs as unknown as PamsFakeQuantAttrs;
    const dyv = float32Values(backend, dy), xv = float32Values(backend, x), ov = float32Values(backend, output);
    const av = float32Values(backend, alpha);
    if (!dyv || !xv || !ov || !av || av.length !== 1) return null;
    if (!tf.util.arraysEqual(dy.shape, x.shape) || !tf.util.arraysEqual(output.shape, x.shape)) return null;
    const [dx, da] = addon.pamsFakeQuantGrad(dyv, xv, ov, av, bits, clamp ? 1 : 0);
    return [backend.makeTensorInfo(dy.shape, 'float32', dx), backend.makeTensorInfo(alpha.shape, 'float32', da)];
  });
}
