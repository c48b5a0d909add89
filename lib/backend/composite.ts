/**
 * Composite kernels: a named tfjs kernel implemented with tfjs ops, so that it runs on any backend,
 * registered here for every backend this library knows. Code outside lib/backend defines such a
 * kernel once (e.g. the DDTB fake quantization, lib/quant/ddtb_act.ts) and runs it with
 * `tf.engine().runKernel(name, inputs, attrs)`, never asking which backend runs; where the native
 * pack has a fused implementation of the same kernel (kernels/all.ts), it serves the cpu backend and
 * keeps the composite as its fallback (`native.ts`), whichever of the two registrations comes first.
 */
import * as tf from '@tensorflow/tfjs';
import { adoptNativeKernel } from './native';

/**
 * A kernel in tfjs ops: the inputs as tensors (by the names the caller passes to runKernel) and
 * the attributes in, the output tensor(s) out. It runs inside the kernel call (no gradient tape; a
 * gradient is registered separately with `tf.registerGradient`); intermediates it creates are
 * disposed after it returns.
 */
export type CompositeKernelImpl = (inputs: Readonly<Record<string, tf.Tensor>>, attrs: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];

/** Backends served: the two `select.ts` chooses between, and any other tfjs has registered. */
function knownBackends(): string[] {
  return [...new Set(['cpu', 'tensorflow', ...Object.keys(tf.engine().registryFactory)])];
}

function asTensors(kernelName: string, inputs: tf.NamedTensorInfoMap): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    if (!(t instanceof tf.Tensor)) throw new Error(`${kernelName}: input '${name}' is not a tensor (run it with tf.engine().runKernel)`);
    out[name] = t;
  }
  return out;
}

/**
 * Registers `impl` as kernel `kernelName` for every known backend that has no kernel of that name
 * yet (a second registration, e.g. the module loaded twice, changes nothing), then lets the native
 * pack serve it on the cpu backend where it can.
 */
export function registerCompositeKernel(kernelName: string, impl: CompositeKernelImpl): void {
  const kernelFunc: tf.KernelFunc = ({ inputs, attrs }) =>
    tf.tidy(() => impl(asTensors(kernelName, inputs), attrs ?? {}));
  for (const backendName of knownBackends()) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  adoptNativeKernel(kernelName);
}
