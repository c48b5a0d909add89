/**
 * Shared by the unary kernels (`relu.ts`, `step.ts`, `abs.ts`, `neg.ts`): float32 in, float32 out,
 * same NaN and signed-zero results as the JS kernels. Other dtypes run the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

/** The addon's op codes (native/elementwise.cc). */
export enum UnaryOp { Relu = 0, Step = 1, Abs = 2, Neg = 3 }

export function unaryConfig(addon: NativeAddon, original: tf.KernelConfig, op: UnaryOp): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { x } = args.inputs as Inputs<'x'>;
    const xv = float32Values(backend, x);
    if (!xv) return null;
    const alpha = op === UnaryOp.Step ? (args.attrs as unknown as tf.StepAttrs).alpha : 0;
    return backend.makeTensorInfo(x.shape.slice(), 'float32', addon.unary(op, xv, alpha));
  });
}
