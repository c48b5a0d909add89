/**
 * Native Transpose against the saved pure-JS kernel: a copy, so results must be identical. Covers
 * the pixel shuffle and its inverse (6-D), 4-D layout changes, random permutations with size-1 axes,
 * and int32.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { assertSameValues, bothWays, countCalls, nativeSkip, seeded, seededValues } from './native_helpers';

const skip = nativeSkip();

/** A seeded permutation of 0..rank-1 (Fisher-Yates on LCG values). */
function permutation(rank: number, seed: number): number[] {
  const p = [...Array(rank).keys()];
  const r = seededValues(rank, seed, 0, 1);
  for (let i = rank - 1; i > 0; i--) {
    const j = Math.floor(r[i] * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

const cases: [shape: number[], perm: number[], what: string][] = [
  [[2, 5, 7, 3, 2, 2], [0, 1, 4, 2, 5, 3], 'pixel shuffle x2: [N,H,W,C,r,r] -> [N,H,r,W,r,C]'],
  [[2, 5, 2, 7, 2, 3], [0, 1, 3, 5, 2, 4], 'its gradient (inverse permutation)'],
  [[1, 4, 6, 5, 3, 3], [0, 1, 4, 2, 5, 3], 'pixel shuffle x3'],
  [[16, 24, 24, 16, 2, 2], [0, 1, 4, 2, 5, 3], 'pixel shuffle x2, large (threaded)'],
  [[2, 7, 9, 5], [0, 3, 1, 2], 'NHWC -> NCHW'],
  [[2, 5, 7, 9], [0, 2, 3, 1], 'NCHW -> NHWC'],
  [[3, 8], [1, 0], '2-D'],
  [[300, 301], [1, 0], '2-D, large'],
  [[5], [0], '1-D'],
  [[1, 3, 1, 4], [3, 2, 1, 0], 'size-1 axes'],
  [[2, 3, 4], [0, 1, 2], 'identity'],
];
for (let i = 0; i < 8; i++) {
  const rank = 2 + (i % 5);
  const shape = [...seededValues(rank, 50 + i, 1, 5)].map(Math.floor);
  cases.push([shape, permutation(rank, 60 + i), `random rank ${rank}`]);
}

describe('native Transpose equals pure JS', () => {
  test(`float32: ${cases.length} shapes and permutations`, { skip }, () => tf.tidy(() => {
    cases.forEach(([shape, perm, what], i) => {
      const x = seeded(shape, i + 1);
      const calls = countCalls('Transpose', () => bothWays('Transpose', { x }, { perm }));
      assert.strictEqual(calls.native, 1);
      assertSameValues(calls.result.native, calls.result.js, `[${shape}] perm [${perm}] (${what})`);
    });
  }));

  test('int32 runs natively, bool runs the original kernel', { skip }, () => tf.tidy(() => {
    const xi = tf.tensor(Int32Array.from({ length: 24 }, (_, i) => i * 7 - 50), [2, 3, 4], 'int32');
    const ci = countCalls('Transpose', () => bothWays('Transpose', { x: xi }, { perm: [2, 0, 1] }));
    assert.strictEqual(ci.native, 1);
    assertSameValues(ci.result.native, ci.result.js, 'int32 transpose');
    const xb = tf.tensor([1, 0, 0, 1, 1, 0], [2, 3], 'bool');
    const cb = countCalls('Transpose', () => bothWays('Transpose', { x: xb }, { perm: [1, 0] }));
    assert.strictEqual(cb.fallback, 1);
    assertSameValues(cb.result.native, cb.result.js, 'bool transpose');
  }));

  test('pixel shuffle forward and gradient through tf.grad, tensor counts flat', { skip }, () => {
    const x = seeded([2, 5, 7, 12], 77);
    const shuffle = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [2, 5, 7, 3, 2, 2]), [0, 1, 4, 2, 5, 3]), [2, 10, 14, 3]);
    const step = () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(shuffle(t), shuffle(t))))(x).dispose());
    step();
    const before = tf.memory().numTensors;
    step();
    assert.strictEqual(tf.memory().numTensors, before);
    x.dispose();
  });
});
