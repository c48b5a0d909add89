/**
 * Shared by the broadcast arithmetic kernels (`add.ts`, `sub.ts`, `multiply.ts`, `real_div.ts`):
 * float32 op float32 with tfjs's broadcasting, one float32 operation per element, so bit for bit the
 * JS kernels' result. Any other dtype pairing runs the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { Inputs, NativeAddon, float32Values, nativeKernel } from './native_api';

/** The addon's op codes (native/elementwise.cc). */
export enum BinaryOp { Add = 0, Sub = 1, Mul = 2, Div = 3 }

export function binaryConfig(addon: NativeAddon, original: tf.KernelConfig, op: BinaryOp): tf.KernelConfig {
  return nativeKernel(original, (args, backend) => {
    const { a, b } = args.inputs as Inputs<'a' | 'b'>;
    const av = float32Values(backend, a), bv = float32Values(backend, b);
    if (!av || !bv) return null;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return backend.makeTensorInfo(shape, 'float32', addon.binary(op, av, a.shape, bv, b.shape));
  });
}
