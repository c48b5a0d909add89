/**
 * Native element-wise kernels (Add, Sub, Multiply, RealDiv with broadcasting; Relu, Step, Abs, Neg)
 * against the saved pure-JS kernels: each is one float32 operation per element, so the results must
 * be identical, element by element, including NaN, infinities, signed zeros and subnormals.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { assertSameValues, bothWays, countCalls, nativeSkip, seededValues } from './native_helpers';

const skip = nativeSkip();

/** Seeded values with the IEEE special cases mixed in. */
function values(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = seededValues(n, seed, -3, 3);
  const special = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38, 1, -1];
  for (let i = 0; i < n; i += 7) v[i] = special[(i / 7 + seed) % special.length];
  return tf.tensor(v, shape, 'float32');
}

const broadcastPairs: [number[], number[]][] = [
  [[2, 7, 13, 5], [2, 7, 13, 5]],
  [[2, 7, 13, 5], [5]],
  [[5], [2, 7, 13, 5]],
  [[2, 7, 13, 5], [2, 1, 1, 5]],
  [[2, 7, 13, 5], [2, 7, 13, 1]],
  [[2, 7, 13, 5], [2, 1, 1, 1]],
  [[3, 1, 5], [1, 4, 1]],
  [[7, 1], [1, 9]],
  [[4, 1, 3], [2, 1]],
  [[], [3, 4]],
  [[3, 4], []],
  [[1], [1]],
  [[16, 32, 32, 16], [16]],
  [[0, 3], [3]],
];

describe('native broadcast arithmetic equals pure JS bit for bit', () => {
  for (const kernel of ['Add', 'Sub', 'Multiply', 'RealDiv']) {
    test(`${kernel} over ${broadcastPairs.length} shape pairs`, { skip }, () => tf.tidy(() => {
      broadcastPairs.forEach(([as, bs], i) => {
        const a = values(as, 3 * i + 1), b = values(bs, 3 * i + 2);
        const calls = countCalls(kernel, () => bothWays(kernel, { a, b }, {}));
        assert.strictEqual(calls.native, 1, `${kernel} [${as}] with [${bs}] ran natively`);
        assertSameValues(calls.result.native, calls.result.js, `${kernel} [${as}] with [${bs}]`);
      });
    }));
  }

  test('int32 Add and Multiply run the original kernels', { skip }, () => tf.tidy(() => {
    const a = tf.tensor([1, 2, 3, 4], [2, 2], 'int32'), b = tf.tensor([5, 6], [2], 'int32');
    for (const kernel of ['Add', 'Multiply']) {
      const calls = countCalls(kernel, () => bothWays(kernel, { a, b }, {}));
      assert.strictEqual(calls.fallback, 1);
      assertSameValues(calls.result.native, calls.result.js, `int32 ${kernel}`);
    }
  }));
});

describe('native unary kernels equal pure JS bit for bit', () => {
  for (const [kernel, attrs] of [['Relu', {}], ['Step', { alpha: 0 }], ['Step', { alpha: -1 }], ['Step', { alpha: 0.3 }],
    ['Abs', {}], ['Neg', {}]] as const) {
    test(`${kernel} ${JSON.stringify(attrs)}`, { skip }, () => tf.tidy(() => {
      for (const [shape, seed] of [[[2, 7, 13, 5], 1], [[64, 64, 16], 2], [[1], 3], [[0], 4]] as const) {
        const x = values([...shape], seed);
        const calls = countCalls(kernel, () => bothWays(kernel, { x }, attrs));
        assert.strictEqual(calls.native, 1);
        assertSameValues(calls.result.native, calls.result.js, `${kernel} [${shape}]`);
      }
    }));
  }

  test('Relu of -0 is +0 and of NaN is NaN, as Math.max(0, x)', { skip }, () => tf.tidy(() => {
    const y = tf.relu(tf.tensor([-0, NaN, -2, 3], [4])).dataSync();
    assert.ok(Object.is(y[0], 0));
    assert.ok(Number.isNaN(y[1]));
    assert.deepStrictEqual([y[2], y[3]], [0, 3]);
  }));

  test('int32 Relu and Abs run the original kernels', { skip }, () => tf.tidy(() => {
    const x = tf.tensor([-3, 0, 4], [3], 'int32');
    for (const kernel of ['Relu', 'Abs']) {
      const calls = countCalls(kernel, () => bothWays(kernel, { x }, {}));
      assert.strictEqual(calls.fallback, 1);
      assertSameValues(calls.result.native, calls.result.js, `int32 ${kernel}`);
    }
  }));
});

describe('native element-wise kernels keep tensor counts flat', () => {
  test('a ReLU forward and backward with broadcast bias, twice', { skip }, () => {
    const x = values([4, 9, 9, 8], 40), b = values([8], 41);
    const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.add(xx, bb)), xx)))(
      [x, b]).forEach((t) => t.dispose()));
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    assert.strictEqual(tf.memory().numTensors, before);
    tf.dispose([x, b]);
  });
});
