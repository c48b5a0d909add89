/**
 * The native BatchNorm2d kernels (native/batchnorm.cc) against their composites (lib/nn/batchnorm.ts):
 * statistics, output, running statistics and all three gradients identical element by element, in
 * training and in eval mode, on odd shapes and on both sides of the threading threshold.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { BatchNorm2d } from '../../lib/nn/batchnorm';
import { BatchNormApply, BatchNormGrad, BatchNormStats } from '../../lib/backend/kernels/batch_norm';
import { withPureJsKernels } from '../../lib/backend/native';
import { assertSameValues, countCalls, nativeSkip, seededValues } from './native_helpers';

const skip = nativeSkip();

/** One forward + backward of a fresh BatchNorm2d; returns y, dx, dgamma, dbeta and the running stats. */
function run(shape: number[], training: boolean, seed: number): tf.Tensor[] {
  const c = shape[3];
  const bn = new BatchNorm2d(c, 'bn');
  bn.train(training);
  tf.tidy(() => {
    bn.weight.assign(tf.tensor1d(seededValues(c, seed + 1, 0.5, 1.5)));
    bn.bias.assign(tf.tensor1d(seededValues(c, seed + 2, -0.5, 0.5)));
    bn.runningMean.assign(tf.tensor1d(seededValues(c, seed + 3, -1, 1)));
    bn.runningVar.assign(tf.tensor1d(seededValues(c, seed + 4, 0.5, 2)));
  });
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(seededValues(size, seed + 5, -3, 7), shape as [number, number, number, number]);
  const dy = tf.tensor4d(seededValues(size, seed + 6, -1, 1), shape as [number, number, number, number]);
  const f = (xi: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn.forward(xi), dy));
  const y = tf.tidy(() => bn.forward(x));
  bn.train(training);
  const grads = tf.grads(f as never)([x, bn.weight, bn.bias]);
  const out = [y, ...grads, tf.clone(bn.runningMean), tf.clone(bn.runningVar)];
  tf.dispose([x, dy]);
  bn.dispose();
  return out;
}

describe('native BatchNorm2d kernels equal the composites bit for bit', () => {
  for (const shape of [[2, 3, 5, 7], [16, 24, 24, 64], [3, 9, 13, 5], [4, 1, 2, 3]]) {
    for (const training of [true, false]) {
      test(`x [${shape}], ${training ? 'training' : 'eval'}`, { skip }, () => {
        const names = ['y', 'dx', 'dgamma', 'dbeta', 'running_mean', 'running_var'];
        let native: tf.Tensor[] = [];
        const calls = countCalls(BatchNormApply, () => countCalls(BatchNormGrad, () => countCalls(BatchNormStats, () => { native = run(shape, training, 10); })));
        assert.ok(calls.native >= 1, 'the apply kernel ran natively');
        const pure = withPureJsKernels(() => run(shape, training, 10));
        names.forEach((n, i) => assertSameValues(native[i], pure[i], `[${shape}] ${n}`));
        tf.dispose([...native, ...pure]);
      });
    }
  }
});
