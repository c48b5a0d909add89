/**
 * Native Sum and Mean against the saved pure-JS kernels. The addon adds each output's elements in
 * tfjs's order into a double (Mean: each element divided by the count in float32 first), as the JS
 * kernel does, so results must be identical bit for bit, for any axes and with keepDims.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { assertSameValues, bothWays, countCalls, nativeSkip, seeded } from './native_helpers';

const skip = nativeSkip();

const reductions: [shape: number[], axis: number | number[] | null, what: string][] = [
  [[16, 13, 13, 64], [0, 1, 2], 'bias gradient of an NHWC conv'],
  [[3, 7, 5, 5], [0, 1, 2], 'bias gradient, 5 channels'],
  [[2, 7, 5, 3], null, 'all axes'],
  [[4, 9, 7, 6], [1, 2], 'spatial mean/sum per sample and channel'],
  [[4, 9, 7, 6], [3], 'over channels'],
  [[4, 9, 7, 6], -1, 'negative axis'],
  [[4, 9, 7, 6], [1, 2, 3], 'per sample'],
  [[4, 9, 7, 6], [0, 2], 'non-adjacent axes'],
  [[4, 9, 7, 6], [0, 3], 'outer and inner axes'],
  [[1, 9, 1, 6], [0, 2], 'size-1 axes only'],
  [[5, 1, 6], [1], 'a size-1 axis'],
  [[2, 3, 4, 5, 6], [1, 3], '5-D, alternating'],
  [[1, 200000], [1], 'one long row (threaded input, single sum)'],
  [[40000, 3], [0], 'many rows, 3 columns'],
  [[7], [], 'no axes'],
];

describe('native Sum and Mean equal pure JS bit for bit', () => {
  for (const kernel of ['Sum', 'Mean']) {
    for (const keepDims of [false, true]) {
      test(`${kernel}${keepDims ? ' keepDims' : ''}: ${reductions.length} shapes and axis sets`, { skip }, () => tf.tidy(() => {
        reductions.forEach(([shape, axis, what], i) => {
          const x = seeded(shape, 7 * i + 1, -2, 3);
          const calls = countCalls(kernel, () => bothWays(kernel, { x }, { axis, keepDims }));
          assert.strictEqual(calls.native, 1, `${kernel} ${what} ran natively`);
          assertSameValues(calls.result.native, calls.result.js, `${kernel} [${shape}] axis ${JSON.stringify(axis)} (${what})`);
        });
      }));
    }
  }

  test('the double accumulator matters: a float32 running sum would differ here', { skip }, () => tf.tidy(() => {
    // 1e8 + 1 + 1 + ... : float32 accumulation loses the ones, tfjs's double keeps them
    const v = new Float32Array(1001).fill(1);
    v[0] = 1e8;
    const s = tf.sum(tf.tensor(v)).dataSync()[0];
    assert.strictEqual(s, Math.fround(1e8 + 1000));
  }));

  test('int32 and bool Sum run the original kernel', { skip }, () => tf.tidy(() => {
    for (const x of [tf.tensor([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor([1, 0, 1, 1], [2, 2], 'bool')]) {
      const calls = countCalls('Sum', () => bothWays('Sum', { x }, { axis: [0], keepDims: false }));
      assert.strictEqual(calls.fallback, 1);
      assertSameValues(calls.result.native, calls.result.js, `${x.dtype} Sum`);
    }
  }));

  test('tensor counts stay flat', { skip }, () => {
    const x = seeded([4, 9, 7, 6], 99);
    const once = () => tf.tidy(() => { tf.mean(x, [1, 2], true); tf.sum(x, [0, 1, 2]); });
    once();
    const before = tf.memory().numTensors;
    once();
    once();
    assert.strictEqual(tf.memory().numTensors, before);
    x.dispose();
  });
});
