import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Prng } from '../../lib/data/prng';
import { BatchRangeRecorder, percentile, percentiles, selectOrderStatistics } from '../../lib/quant/observer';

ensureBackend();

test('percentile: numpy linear interpolation on hand cases', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([4, 1, 3, 2], 0), 1);
  assert.equal(percentile([4, 1, 3, 2], 100), 4);
  assert.equal(percentile([7], 99), 7);
  // index (n-1)*q/100 = 0.75 on [0, 10]: t = 0.75 >= 0.5 uses b - (b-a)*(1-t).
  assert.equal(percentile([10, 0], 75), 7.5);
});

test('percentile: the t >= 0.5 branch is b - (b - a)(1 - t), the other a + (b - a) t, bit for bit', () => {
  // On [0.1, 0.7] the two forms of the interpolation differ in the last bit for these q.
  const a = 0.1;
  const b = 0.7;
  let differing = 0;
  for (const q of [10, 30, 49, 51, 70, 90]) {
    const t = q / 100;
    const low = a + (b - a) * t;
    const high = b - (b - a) * (1 - t);
    if (low !== high) differing++;
    assert.equal(percentile([b, a], q), t >= 0.5 ? high : low, `q = ${q}`);
  }
  assert.ok(differing > 0, 'the hand cases exercise a difference between the two forms');
});

test('percentile: float32 data take b - a in float32, as numpy 1.24 does', () => {
  const data = Float32Array.from([0.1, 1e8]);
  const a = data[0];
  const b = data[1];
  const d32 = Math.fround(b - a);
  assert.notEqual(d32, b - a, 'b - a is not exact in float32 here');
  assert.equal(percentile(data, 25), a + d32 * 0.25);
  assert.equal(percentile(data, 80), b - d32 * (1 - 0.8));
  assert.equal(percentile(Float64Array.from(data), 25), a + (b - a) * 0.25, 'float64 data keep the float64 difference');
});

test('percentile: values from numpy (2.4.6, float64 input, method linear as in 1.24)', () => {
  const a = [3.5, -1.25, 0.0, 7.0, 2.0, 2.0, -4.5, 10.25, 1.0, 0.5, 6.0];
  const want: Array<[number, number]> = [[1, -4.175], [5, -2.875], [50, 2.0], [95, 8.625], [99, 9.925], [37.3, 0.865]];
  for (const [q, v] of want) assert.equal(percentile(a, q), v, `P${q}`);
  // i = 1..200: ((37 i) mod 101) / 7 + 0.013 i (basic IEEE operations, the same in numpy and JS).
  const b = Array.from({ length: 200 }, (_, k) => ((37 * (k + 1)) % 101) / 7.0 + (k + 1) * 0.013);
  assert.deepEqual(percentiles(b, [1, 99, 95, 5]), [1.0633857142857142, 15.991185714285713, 15.019292857142856, 1.957992857142857]);
});

test('percentile: rejects empty input, NaN and q outside [0, 100]', () => {
  assert.throws(() => percentile([], 50), /empty input/);
  assert.throws(() => percentile([1, NaN], 50), /non-finite value NaN at index 1/);
  assert.throws(() => percentile([1, 2], 101), /q must be in \[0, 100\]/);
});

test('selectOrderStatistics returns the same order statistics as a full sort (duplicates, ends, random k)', () => {
  const rng = Prng.fromSeed(3);
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + Math.floor(rng.nextFloat() * 3000);
    // Few distinct values make many ties (as exact zeros after a ReLU do).
    const distinct = trial % 2 === 0 ? 5 : 1e6;
    const values = Float64Array.from({ length: n }, () => Math.floor(rng.nextFloat() * distinct) - distinct / 3);
    const sorted = Float64Array.from(values).sort();
    const ks = [...new Set([0, n - 1, Math.floor(rng.nextFloat() * n), Math.floor(rng.nextFloat() * n), Math.floor(n * 0.99), Math.floor(n * 0.01)])]
      .filter((k) => k >= 0 && k < n).sort((x, y) => x - y);
    const work = Float64Array.from(values);
    selectOrderStatistics(work, ks);
    for (const k of ks) assert.equal(work[k], sorted[k], `n=${n} k=${k}`);
    assert.deepEqual(Float64Array.from(work).sort(), sorted, 'a permutation of the input');
  }
});

test('percentiles agree with a sort-based reference on random data', () => {
  const rng = Prng.fromSeed(11);
  for (let trial = 0; trial < 20; trial++) {
    const n = 2 + Math.floor(rng.nextFloat() * 5000);
    const data = Float32Array.from({ length: n }, () => (rng.nextFloat() - 0.3) * 4);
    const sorted = Float64Array.from(data).sort();
    for (const q of [1, 5, 95, 99]) {
      const index = (n - 1) * (q / 100);
      const i = Math.floor(index);
      const j = Math.min(i + 1, n - 1);
      const t = index - i;
      const d = Math.fround(sorted[j] - sorted[i]);
      const want = t >= 0.5 ? sorted[j] - d * (1 - t) : sorted[i] + d * t;
      assert.equal(percentile(data, q), want, `n=${n} q=${q}`);
    }
  }
});

test('BatchRangeRecorder records the whole-batch max and min of each call', () => {
  const rec = new BatchRangeRecorder();
  const before = tf.memory().numTensors;
  const a = tf.tensor4d([1, -2, 3.5, 0], [2, 1, 1, 2]);
  const b = tf.tensor4d([-7, 4, 4, 2], [1, 2, 2, 1]);
  rec.record(a);
  rec.record(b);
  assert.deepEqual(rec.maxima, [3.5, 4]);
  assert.deepEqual(rec.minima, [-2, -7]);
  assert.equal(rec.count, 2);
  rec.reset();
  assert.equal(rec.count, 0);
  tf.dispose([a, b]);
  assert.equal(tf.memory().numTensors, before);
});
