/** lib/quant/asymmetry: quantizer levels and the symmetric / asymmetric fit of one layer. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { compareQuantizers, ddtbLevels, pamsLevels } from '../../lib/quant/asymmetry';

ensureBackend();

function close(actual: readonly number[], expected: readonly number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${actual} vs ${expected}`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol, `[${i}] ${a} vs ${expected[i]}`));
}

test('ddtbLevels: the spec 2.2 example, and a zero-aligned grid for post-ReLU bounds', () => {
  close(ddtbLevels(2.3, -1.7, 2), [-4 / 3, 0, 4 / 3, 8 / 3]);
  close(ddtbLevels(9.6, 0, 2), [0, 3.2, 6.4, 9.6]);
  assert.equal(ddtbLevels(5, -3, 3).length, 8);
  assert.throws(() => ddtbLevels(1, 1, 2), /upper bound 1 is not above lower bound 1/);
});

test('pamsLevels: {-alpha, 0, alpha} at 2 bits, 7 levels at 3 bits', () => {
  close(pamsLevels(2, 2), [-2, 0, 2]);
  close(pamsLevels(7, 3), [-7, -14 / 3, -7 / 3, 0, 7 / 3, 14 / 3, 7]);
  assert.throws(() => pamsLevels(0, 2), /alpha 0 must be positive/);
});

test('compareQuantizers: a post-ReLU-like layer by hand (numpy percentiles and skewness)', () => {
  const before = tf.memory().numTensors;
  const r = compareQuantizers(new Float32Array([0, 0, 0, 1, 2, 10]));
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  assert.deepEqual([r.count, r.min, r.max, r.absMinOverMax], [6, 0, 10, 0]);
  assert.ok(Math.abs(r.skew - 1.6314258996488473) < 1e-12);
  // Symmetric: alpha = 10, levels {-10, 0, 10}; 1 and 2 round to 0, the negative level is never used.
  close(r.symmetric.levels, [-10, 0, 10]);
  assert.deepEqual(r.symmetric.levelCounts, [0, 5, 1]);
  assert.equal(r.symmetric.unusedShare, 1 / 3);
  assert.ok(Math.abs(r.symmetric.mse - 5 / 6) < 1e-9);
  // Asymmetric: u = P99 = 9.6, l = P1 = 0, levels {0, 3.2, 6.4, 9.6}: 2 -> 3.2, 10 -> 9.6.
  assert.deepEqual([r.asymmetric.upper, r.asymmetric.lower], [Math.fround(9.6), 0]);
  close(r.asymmetric.levels, [0, 3.2, 6.4, 9.6]);
  assert.deepEqual(r.asymmetric.levelCounts, [4, 1, 0, 1]);
  assert.equal(r.asymmetric.unusedShare, 1 / 4);
  assert.ok(Math.abs(r.asymmetric.mse - 2.6 / 6) < 1e-5);
});

test('compareQuantizers: mixed signs use float32 percentiles; errors for empty and non-finite input', () => {
  const r = compareQuantizers(new Float32Array([-3, -1, 0, 2, 2.5, 4]));
  assert.deepEqual([r.asymmetric.upper, r.asymmetric.lower], [Math.fround(3.925), Math.fround(-2.9)]);
  assert.equal(r.symmetric.upper, 4);
  assert.equal(r.absMinOverMax, 0.75);
  assert.ok(r.asymmetric.levels.some((v) => v === 0), 'zero is a level of the zero-aligned grid');
  assert.throws(() => compareQuantizers(new Float32Array([])), /no values/);
  assert.throws(() => compareQuantizers(new Float32Array([1, NaN])), /non-finite value NaN at index 1/);
  assert.throws(() => compareQuantizers(new Float32Array([0, 0])), /every value is 0/);
});
