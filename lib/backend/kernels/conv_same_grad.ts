/**
 * `ConvSameGrad`: both gradients of a stride-1 "same" NHWC conv and of its bias, with the mask of a
 * fused ReLU, in one kernel call. Inputs { dy, x, filter } and, for a fused ReLU, { y } (the conv's
 * output); attrs { withBias }. Outputs [dx, dfilter] or [dx, dfilter, dbias].
 * The composite (lib/nn/conv.ts) defines the results: dy * step(y), then Conv2DBackpropInput,
 * Conv2DBackpropFilter and the Sum of dy over N, H and W. The native one (native/conv.cc
 * `conv2dBackward`) runs the same oneDNN primitives and the same Sum order, so it gives them bit
 * for bit, reordering dy once for both primitives.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel, planConv } from './native_api';

export const ConvSameGrad = 'ConvSameGrad';

export interface ConvSameGradAttrs {
  /** Whether the conv has a bias (then a third output, its gradient). */
  readonly withBias: boolean;
}

export function convSameGradConfig(addon: NativeAddon, original: tf.KernelConfig): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { dy, x, filter } = args.inputs as Inputs<'dy' | 'x' | 'filter'>;
    const y = (args.inputs as Partial<Inputs<'y'>>).y;
    const { withBias } = args.attrs as unknown as ConvSameGradAttrs;
    const xv = float32Values(backend, x), dyv = float32Values(backend, dy), wv = float32Values(backend, filter);
    const yv = y ? float32Values(backend, y) : null;
    if (!xv || !dyv || !wv || (y && !yv)) return null;
    const plan = planConv(x.shape, filter.shape, 1, 1, 'same', undefined, 'NHWC');
    if (!plan || !tf.util.arraysEqual(plan.outShape, dy.shape) || (y && !tf.util.arraysEqual(y.shape, dy.shape))) return null;
    const [dx, dw, db] = addon.conv2dBackward(xv, plan.xShape, dyv, plan.outShape, wv, plan.filterShape, yv, plan.conv, withBias);
    const out = [backend.makeTensorInfo(x.shape, 'float32', dx), backend.makeTensorInfo(filter.shape, 'float32', dw)];
    if (withBias) out.push(backend.makeTensorInfo([plan.filterShape[3]], 'float32', db!));
    return out;
  });
}
