/** PAMS fake quant passes a gradient to its input (training a PAMS network needs it): 1 inside [-a, a], 0 outside. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { pamsFakeQuant } from '../../lib/quant/pams';

ensureBackend();

test('pamsFakeQuant: d out / d x is 1 inside the clamp range and 0 outside, with alpha trainable at once', () => {
  const x = tf.tensor1d([-3, -0.9, 0.2, 0.7, 2.5]);
  const alpha = tf.variable(tf.scalar(1));
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => tf.sum(pamsFakeQuant(tf.mul(x, alpha), alpha, 2)) as tf.Scalar);
  // Through x * alpha, both paths reach alpha; the input path alone is checked with tf.grad below.
  assert.ok(Number.isFinite(grads[alpha.name].dataSync()[0]));
  tf.dispose([value, ...Object.values(grads)]);
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(pamsFakeQuant(xi, alpha, 2)))(x);
  assert.deepEqual(Array.from(dx.dataSync()), [0, 1, 1, 1, 0]);
  dx.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, alpha]);
});
