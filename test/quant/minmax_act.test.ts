import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { minMaxFakeQuant } from '../../lib/quant/minmax_act';

ensureBackend();

test('min/max 2-bit quantizer: zero-aligned grid over [min, max] of the whole tensor', () => {
  // min -1, max 2: s = 3 * (1/3) = 1, z = round(-1) + 2 = 1: levels -1, 0, 1, 2. 1.5 gives
  // round(1.5 - 1) + 1 = round(0.5) + 1 = 1 (half to even, with the odd zero point).
  const x = tf.tensor4d([-1, -0.4, 0.6, 2, 1.5, 0.49], [2, 1, 1, 3]);
  const y = minMaxFakeQuant(x, 2, 'none', 'gate');
  assert.deepEqual(Array.from(y.dataSync(), (v) => v + 0), [-1, 0, 1, 2, 1, 0]);
  tf.dispose([x, y]);
});

test("gradient 'none' detaches (the input variable gets no gradient); 'ste' passes it straight through", () => {
  const x = tf.variable(tf.tensor4d([0.1, 0.9, -0.3, 0.4], [1, 1, 1, 4]));
  const none = tf.variableGrads(() => tf.sum(tf.mul(minMaxFakeQuant(x, 2, 'none', 'gate'), x)) as tf.Scalar, [x]);
  // d/dx of q(x) * x with q detached is q(x).
  const q = minMaxFakeQuant(x, 2, 'none', 'gate');
  assert.deepEqual([...none.grads[x.name].dataSync()], [...q.dataSync()]);
  const ste = tf.variableGrads(() => tf.sum(tf.mul(minMaxFakeQuant(x, 2, 'ste', 'gate'), tf.tensor1d([1, 2, 3, 4]))) as tf.Scalar, [x]);
  assert.deepEqual([...ste.grads[x.name].dataSync()], [1, 2, 3, 4]);
  // Through the detached quantizer alone there is no path from x at all.
  assert.throws(() => tf.variableGrads(() => tf.sum(minMaxFakeQuant(x, 2, 'none', 'gate')) as tf.Scalar, [x]), /Cannot find a connection between any variable and the result/);
  tf.dispose([x, q, none.value, ste.value, ...Object.values(none.grads), ...Object.values(ste.grads)]);
});

test('max == min is an error naming the layer (the official code would produce NaN)', () => {
  const x = tf.zeros([1, 1, 1, 32]);
  assert.throws(() => minMaxFakeQuant(x, 2, 'none', 'body.1.quant_act1.atten_c.4'), /body\.1\.quant_act1\.atten_c\.4: 2-bit min\/max quantizer: max == min \(0\)/);
  tf.dispose(x);
});
