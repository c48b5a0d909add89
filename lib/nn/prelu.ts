/**
 * PReLU with one shared slope w, as one named kernel with one gradient (`PreluShared`, contract in
 * lib/backend/kernels/prelu_shared.ts): y = x for x >= 0, w x below; dx = dy for x > 0, w dy
 * otherwise; dw = the sum of dy x where x <= 0 (PyTorch's nn.PReLU with num_parameters 1). The
 * composite below serves every backend; the cpu backend runs the fused native kernel when built.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCompositeKernel } from '../backend/composite';
import { PreluShared, PreluSharedGrad } from '../backend/kernels/prelu_shared';

function preluComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor {
  return tf.prelu(inputs.x, tf.reshape(inputs.w, []));
}

function preluGradComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor[] {
  const { dy, x, w } = inputs;
  const positive = tf.greater(x, 0);
  const dx = tf.where(positive, dy, tf.mul(dy, tf.reshape(w, [])));
  const dw = tf.reshape(tf.sum(tf.where(positive, tf.zerosLike(dy), tf.mul(dy, x))), w.shape);
  return [dx, dw];
}

const preluGradConfig: tf.GradConfig = {
  kernelName: PreluShared,
  inputsToSave: ['x', 'w'],
  gradFunc: (dy, saved) => {
    const [x, w] = saved;
    const [dx, dw] = tf.engine().runKernel(PreluSharedGrad, { dy: dy as tf.Tensor, x, w }) as tf.Tensor[];
    return { x: () => dx, w: () => dw };
  },
};

registerCompositeKernel(PreluShared, preluComposite);
registerCompositeKernel(PreluSharedGrad, preluGradComposite);
if (!tf.getGradient(PreluShared)) tf.registerGradient(preluGradConfig);

/** PReLU of x (float32, any shape) with the single slope w (any shape of size 1). */
export function preluShared<T extends tf.Tensor>(x: T, w: tf.Tensor): T {
  if (w.size !== 1) throw new Error(`preluShared: the slope must hold one value, got shape [${w.shape.join(',')}]`);
  return tf.engine().runKernel(PreluShared, { x, w }) as T;
}
