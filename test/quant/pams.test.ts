import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { PamsActQuantizer, pamsFakeQuant, pamsInitialAlpha } from '../../lib/quant/pams';

ensureBackend();

test('PAMS formula: round(clamp(x, -a, a) qmax / a) a / qmax, symmetric 2^k - 1 levels', () => {
  // a = 2, k = 3: qmax = 3, step 2/3; +-1 give +-1.5 before rounding: half to even, +-2 -> +-4/3.
  const x = tf.tensor1d([-5, -1, -0.3, 0, 0.34, 1, 1.9, 7]);
  const y = pamsFakeQuant(x, tf.tensor1d([2]), 3);
  const want = [-2, -4 / 3, 0, 0, 2 / 3, 4 / 3, 2, 2];
  y.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${i}: ${v} vs ${want[i]}`));
  tf.dispose([x, y]);
});

test('PAMS alpha gradient: (x^ - c)/a inside, about +-1 outside (STE rounding)', () => {
  const x = tf.tensor1d([-5, -0.3, 0.34, 1.1, 7]);
  const a = tf.variable(tf.tensor1d([2]));
  const out = pamsFakeQuant(x, a, 3).dataSync();
  const r = tf.variableGrads(() => tf.sum(pamsFakeQuant(x, a, 3)) as tf.Scalar, [a]);
  const xs = x.dataSync();
  let want = 0;
  xs.forEach((v, i) => {
    const c = Math.min(Math.max(v, -2), 2);
    // d/da of round(c*qmax/a)*a/qmax with the STE: r/qmax - c/a + dc/da.
    const rq = out[i] * 3 / 2;
    want += rq / 3 - c / 2 + (v > 2 ? 1 : v < -2 ? -1 : 0);
  });
  assert.ok(Math.abs(r.grads[a.name].dataSync()[0] - want) < 1e-5, `${r.grads[a.name].dataSync()[0]} vs ${want}`);
  tf.dispose([x, a, r.value, ...Object.values(r.grads)]);
});

test('PAMS initialisation, DDTB variant: alpha = batch mean of per-sample max|x|, set once at the first training batch', () => {
  const q = new PamsActQuantizer('body.0.quant_act1', 2, { bits: 2 });
  // per-sample max|x|: 3 and 5 -> alpha 4.
  const x = tf.tensor4d([1, -3, 0.5, 2, -5, 4, 0, 1], [2, 2, 1, 2]);
  assert.equal(pamsInitialAlpha(x), 4);
  q.eval();
  q.apply(x).dispose();
  assert.equal(q.bounds().upper, 10, 'eval mode leaves alpha alone');
  q.train();
  q.apply(x).dispose();
  assert.deepEqual(q.bounds(), { upper: 4, lower: -4 });
  const x2 = tf.mul(x, 10) as tf.Tensor4D;
  q.apply(x2).dispose();
  assert.equal(q.bounds().upper, 4, 'only the first batch');
  tf.dispose([x, x2]);
  q.dispose();
});

test('PAMS initialisation, PAMS variant: reset on every batch while initializing, no clamp; kept afterwards', () => {
  const q = new PamsActQuantizer('body.0.quant_act1', 2, { bits: 2, init: 'pams-epoch1-reset' });
  q.train();
  q.initializing = true;
  const a = tf.tensor4d([1, -3, 0.5, 2, -5, 4, 0, 1], [2, 2, 1, 2]);
  const b = tf.tensor4d([6, 0, 0, 0, 0, 0, -2, 0], [2, 2, 1, 2]);
  q.apply(a).dispose();
  assert.equal(q.bounds().upper, 4);
  const yb = q.apply(b);
  assert.equal(q.bounds().upper, 4, 'per-sample max|x| 6 and 2 -> 4');
  // No clamp during the reset epoch: 6 quantizes to round(6 * 1 / 4) * 4 = 8, beyond alpha.
  assert.equal(yb.dataSync()[0], 8);
  q.initializing = false;
  const ya = q.apply(tf.mul(a, 3) as tf.Tensor4D);
  assert.equal(q.bounds().upper, 4, 'kept after the initialisation epoch');
  assert.ok(Math.max(...Array.from(ya.dataSync(), Math.abs)) <= 4, 'clamped again');
  tf.dispose([a, b, yb, ya]);
  q.dispose();
});

test('PAMS state dict and statistics mode', () => {
  const q = new PamsActQuantizer('body.0.quant_act1', 2, { bits: 4 });
  assert.deepEqual([...q.stateDict().keys()], ['alpha']);
  assert.deepEqual(q.namedParameters().map(([n, p]) => [n, p.group]), [['alpha', 'bound']]);
  q.mode = 'float';
  const x = tf.tensor4d([1, -3, 0.5, 2], [1, 2, 1, 2]);
  const y = q.apply(x);
  assert.deepEqual([...y.dataSync()], [...x.dataSync()]);
  assert.deepEqual([q.statistics.maxima, q.statistics.minima], [[2], [-3]]);
  tf.dispose([x, y]);
  q.dispose();
});
