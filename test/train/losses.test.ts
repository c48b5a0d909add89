import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { attentionMap, attentionTransferLoss, gateLogitRegularizer, l1Loss } from '../../lib/train/losses';

ensureBackend();

test('l1Loss: mean absolute error over all elements', () => {
  const a = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const b = tf.tensor4d([0, 2, 5, 1], [1, 2, 2, 1]);
  assert.equal(l1Loss(a, b).dataSync()[0], (1 + 0 + 2 + 3) / 4);
  assert.throws(() => l1Loss(a, tf.zeros([1, 2, 2, 3])), /l1Loss: shapes differ/);
  tf.dispose([a, b]);
});

test('attentionMap: channel mean of F^2 over (H, W), L2-normalised per sample', () => {
  // One sample, 2x1 pixels, 2 channels: energies (1 + 9)/2 = 5 and (4 + 0)/2 = 2.
  const fm = tf.tensor4d([1, 3, 2, 0], [1, 2, 1, 2]);
  const a = attentionMap(fm).dataSync();
  const norm = Math.sqrt(25 + 4);
  assert.ok(Math.abs(a[0] - 5 / norm) < 1e-7 && Math.abs(a[1] - 2 / norm) < 1e-7);
  // An all-zero map stays zero (eps 1e-12, no NaN).
  assert.deepEqual([...attentionMap(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D).dataSync()], [0, 0, 0, 0]);
  tf.dispose(fm);
});

test('attentionTransferLoss: mean squared difference of the maps; zero for equal maps; the teacher gets no gradient', () => {
  const s = tf.variable(tf.tensor4d([1, 3, 2, 0, 1, 1, 0, 2], [2, 2, 1, 2]));
  const t = tf.variable(tf.tensor4d([2, 6, 4, 0, 1, 0, 1, 1], [2, 2, 1, 2]));
  // Sample 0: t = 2 s, the same normalised map; sample 1: energies (1, 2) vs (0.5, 1): equal after normalising.
  assert.ok(attentionTransferLoss(s as unknown as tf.Tensor4D, t as unknown as tf.Tensor4D).dataSync()[0] < 1e-12);
  const t2 = tf.variable(tf.tensor4d([0, 1, 1, 0, 2, 0, 0, 0], [2, 2, 1, 2]));
  const as = attentionMap(s as unknown as tf.Tensor4D).dataSync();
  const at = attentionMap(t2 as unknown as tf.Tensor4D).dataSync();
  const want = Array.from(as).reduce((acc: number, v: number, i: number) => acc + (v - at[i]) ** 2, 0) / 4;
  const r = tf.variableGrads(() => attentionTransferLoss(s as unknown as tf.Tensor4D, t2 as unknown as tf.Tensor4D), [s, t2]);
  assert.ok(Math.abs(r.value.dataSync()[0] - want) < 1e-7);
  assert.deepEqual(Object.keys(r.grads), [s.name], 'only the student has a gradient');
  tf.dispose([s, t, t2, r.value, ...Object.values(r.grads)]);
});

test('gateLogitRegularizer: mean over gates of mean(c^2); 0 without gates', () => {
  const c1 = tf.tensor4d([1, -1, 2, 0], [2, 1, 1, 2]);
  const c2 = tf.tensor4d([3, 1], [1, 1, 1, 2]);
  assert.equal(gateLogitRegularizer([c1]).dataSync()[0], 6 / 4);
  assert.equal(gateLogitRegularizer([c1, c2]).dataSync()[0], (6 / 4 + 10 / 2) / 2);
  assert.equal(gateLogitRegularizer([]).dataSync()[0], 0);
  tf.dispose([c1, c2]);
});
