import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { detach, roundSte, straightThrough } from '../../lib/quant/ste';

ensureBackend();

test('roundSte rounds half to even and passes the gradient straight through', () => {
  const x = tf.variable(tf.tensor1d([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 2.51]));
  const g = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
  const y = roundSte(x);
  assert.deepEqual(Array.from(y.dataSync(), (v) => v + 0), [0, 2, 2, 0, -2, 0, 3]);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(g, roundSte(x))) as tf.Scalar, [x]);
  assert.deepEqual([...grads[x.name].dataSync()], [1, 2, 3, 4, 5, 6, 7], 'd round/dx = 1');
  // tf.round alone gives no gradient: the reason roundSte exists.
  const plain = tf.variableGrads(() => tf.sum(tf.mul(g, tf.round(x))) as tf.Scalar, [x]);
  assert.deepEqual([...plain.grads[x.name].dataSync()], [0, 0, 0, 0, 0, 0, 0]);
  tf.dispose([x, g, y, value, plain.value, ...Object.values(grads), ...Object.values(plain.grads)]);
});

test('detach keeps the values and cuts every gradient path (the variable gets none at all)', () => {
  const a = tf.variable(tf.tensor1d([1, 2, 3]));
  const b = tf.variable(tf.tensor1d([4, 5, 6]));
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(detach(tf.square(a)), b)) as tf.Scalar, [a, b]);
  assert.equal(value.dataSync()[0], 1 * 4 + 4 * 5 + 9 * 6);
  assert.deepEqual(Object.keys(grads), [b.name], 'only b has a gradient; a has none (not zeros)');
  assert.deepEqual([...grads[b.name].dataSync()], [1, 4, 9]);
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  tf.dispose([a, b]);
});

test('straightThrough: forward value of the function, identity gradient', () => {
  const x = tf.variable(tf.tensor1d([0.3, -1.2, 2.7]));
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(straightThrough(x, (t) => tf.mul(tf.round(t), 10)), tf.tensor1d([1, -2, 3]))) as tf.Scalar, [x]);
  assert.equal(value.dataSync()[0], 0 * 1 + -10 * -2 + 30 * 3);
  assert.deepEqual([...grads[x.name].dataSync()], [1, -2, 3]);
  tf.dispose([x, value, ...Object.values(grads)]);
});
