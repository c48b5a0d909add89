/**
 * The DDTB fake-quant kernels: their contract, and the fused native implementation for the cpu
 * backend (native/fake_quant.cc).
 *
 * `DdtbFakeQuant`, inputs { x, upper, lower }, attrs { bits }: x^ = the DDTB formula of x over
 * [lower, upper] at `bits` bits (lib/quant/ddtb_act.ts states it). x float32, any shape; upper and
 * lower each a single value (any shape of size 1) or per sample, [N,1,1,1] for x [N,H,W,C]. Output:
 * the broadcast shape of x, upper and lower (the shape of x in every real use).
 *
 * `DdtbFakeQuantGrad`, inputs { dy, x, upper, lower, output } (output: the forward's x^), attrs
 * { bits }: [dx, du, dl], the shapes of dy, upper and lower (the hand-written gradient of
 * lib/quant/ddtb_act.ts, PyTorch 1.13's tie split).
 *
 * Both have a composite implementation in tfjs ops (lib/quant/ddtb_act.ts, registered for every
 * backend through `registerCompositeKernel`), which the native one falls back to for anything it
 * does not cover: other dtypes, bounds that are neither single nor per-sample, a dy whose shape is
 * not x's. Native results are bit for bit the composite's, bound gradients included (the sums run
 * in tfjs's order, in double).
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

export const DdtbFakeQuant = 'DdtbFakeQuant';
export const DdtbFakeQuantGrad = 'DdtbFakeQuantGrad';

/** Attributes of both kernels. */
export interface DdtbFakeQuantAttrs {
  /** k, the bit width (1..16). */
  readonly bits: number;
}

/**
 * S, the number of samples the bounds are laid out over: 1 when both are single values, N when
 * either is per-sample [N,1,1,1] for x [N,H,W,C]; null for any other layout.
 */
export function boundSamples(xShape: readonly number[], upperShape: readonly number[], lowerShape: readonly number[]): number | null {
  let samples = 1;
  for (const b of [upperShape, lowerShape]) {
    if (tf.util.sizeFromShape(b as number[]) === 1) continue;
    const perSample = xShape.length === 4 && b.length === 4 && b[0] === xShape[0] && b[1] === 1 && b[2] === 1 && b[3] === 1;
    if (!perSample) return null;
    samples = xShape[0];
  }
  return samples;
}

function broadcastShape(...shapes: ReadonlyArray<readonly number[]>): number[] {
  return shapes.reduce<number[]>((a, b) => tf.backend_util.assertAndGetBroadcastShape(a, b as number[]), []);
}

export function ddtbFakeQuantConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x, upper, lower } = args.inputs as Inputs<'x' | 'upper' | 'lower'>;
    const { bits } = args.attrs as unknown as DdtbFakeQuantAttrs;
    const xv = float32Values(backend, x), uv = float32Values(backend, upper), lv = float32Values(backend, lower);
    if (!xv || !uv || !lv) return null;
    const samples = boundSamples(x.shape, upper.shape, lower.shape);
    if (samples === null || samples < 1) return null;
    const shape = broadcastShape(x.shape, upper.shape, lower.shape);
    if (tf.util.sizeFromShape(shape) !== xv.length) return null;
    return backend.makeTensorInfo(shape, 'float32', addon.ddtbFakeQuant(xv, samples, uv, lv, bits));
  });
}

export function ddtbFakeQuantGradConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { dy, x, upper, lower, output } = args.inputs as Inputs<'dy' | 'x' | 'upper' | 'lower' | 'output'>;
    const { bits } = args.attrs as unknown as DdtbFakeQuantAttrs;
    const dyv = float32Values(backend, dy), xv = float32Values(backend, x), ov = float32Values(backend, output);
    const uv = float32Values(backend, upper), lv = float32Values(backend, lower);
    if (!dyv || !xv || !ov || !uv || !lv) return null;
    if (!tf.util.arraysEqual(dy.shape, x.shape) || !tf.util.arraysEqual(output.shape, x.shape)) return null;
    const samples = boundSamples(x.shape, upper.shape, lower.shape);
    if (samples === null || samples < 1) return null;
    const [dx, du, dl] = addon.ddtbFakeQuantGrad(dyv, xv, ov, samples, uv, lv, bits);
    return [
      backend.makeTensorInfo(dy.shape, 'float32', dx),
      backend.makeTensorInfo(upper.shape, 'float32', du),
      backend.makeTensorInfo(lower.shape, 'float32', dl),
    ];
  });
}
