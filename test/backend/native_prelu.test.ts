/**
 * The fused native shared-slope PReLU (native/prelu.cc) against its composite (lib/nn/prelu.ts):
 * output, dx and dw identical element by element on random tensors with exact zeros, both sides of
 * the threading threshold, and IEEE special values; the gradient against the closed form.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { preluShared } from '../../lib/nn/prelu';
import { PreluShared, PreluSharedGrad } from '../../lib/backend/kernels/prelu_shared';
import { withPureJsKernels } from '../../lib/backend/native';
import { assertSameValues, countCalls, nativeSkip, seededValues } from './native_helpers';

const skip = nativeSkip();

function checkBothWays(x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor, what: string): void {
  tf.tidy(() => {
    const forward = () => tf.engine().runKernel(PreluShared, { x, w }) as tf.Tensor;
    const fw = countCalls(PreluShared, forward);
    assert.strictEqual(fw.native, 1, `${what}: the forward ran natively`);
    assertSameValues(fw.result, withPureJsKernels(forward), `${what}: forward`);
    const backward = () => tf.engine().runKernel(PreluSharedGrad, { dy, x, w }) as tf.Tensor[];
    const bw = countCalls(PreluSharedGrad, backward);
    assert.strictEqual(bw.native, 1, `${what}: the backward ran natively`);
    const composite = withPureJsKernels(backward);
    assertSameValues(bw.result[0], composite[0], `${what}: dx`);
    assertSameValues(bw.result[1], composite[1], `${what}: dw`);
  });
}

describe('native PReLU equals the composite bit for bit', () => {
  for (const shape of [[3, 5, 7, 11], [1, 1, 1, 1], [16, 24, 24, 64], [2, 33, 17, 5]]) {
    test(`random x [${shape}] with exact zeros`, { skip }, () => tf.tidy(() => {
      const size = shape.reduce((a, b) => a * b, 1);
      const v = seededValues(size, 3, -4, 4);
      for (let i = 0; i < size; i += 7) v[i] = 0;
      checkBothWays(tf.tensor(v, shape), tf.tensor1d([0.25]), tf.tensor(seededValues(size, 4, -2, 2), shape), `[${shape}]`);
      checkBothWays(tf.tensor(v, shape), tf.scalar(-0.7), tf.tensor(seededValues(size, 5, -2, 2), shape), `[${shape}], negative slope`);
    }));
  }
  test('NaN, infinities and signed zeros', { skip }, () => tf.tidy(() => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38, 2, -1];
    const xv = seededValues(4 * 4 * 6, 9, -3, 3);
    for (let i = 0; i < xv.length; i += 2) xv[i] = special[(i / 2) % special.length];
    checkBothWays(tf.tensor(xv, [4, 4, 6]), tf.tensor1d([0.3]), tf.tensor(seededValues(xv.length, 10, -1, 1), [4, 4, 6]), 'special values');
  }));
});

test('preluShared: y, dx and dw as PyTorch defines them', () => {
  const x = tf.tensor1d([-2, -0.5, 0, 1, 3]);
  const w = tf.variable(tf.tensor1d([0.25]));
  const before = tf.memory().numTensors;
  const y = preluShared(x, w);
  assert.deepStrictEqual(Array.from(y.dataSync()), [-0.5, -0.125, 0, 1, 3]);
  const dy = tf.tensor1d([1, 2, 3, 4, 5]);
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(preluShared(xi, w), dy)))(x);
  assert.deepStrictEqual(Array.from(dx.dataSync()), [0.25, 0.5, 0.75, 4, 5]);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(preluShared(x, w), dy)) as tf.Scalar, [w]);
  assert.strictEqual(grads[w.name].dataSync()[0], -2 * 1 + -0.5 * 2 + 0 * 3);
  tf.dispose([y, dy, dx, value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w]);
});
