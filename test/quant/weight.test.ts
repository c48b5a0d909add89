import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Prng } from '../../lib/data/prng';
import { percentileClipRange, quantizeWeightAsym, quantizeWeightAsym99, quantizeWeightSym, weightQuantizer } from '../../lib/quant/weight';
import { percentiles } from '../../lib/quant/observer';

ensureBackend();
const f = Math.fround;

function filter(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = Prng.fromSeed(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  // Roughly normal weights (sum of uniforms), scale 0.05.
  return tf.tensor4d(Float32Array.from({ length: n }, () => (rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 1.5) * 0.1), shape);
}

function gradOf(quant: (w: tf.Tensor) => tf.Tensor, w: tf.Variable, g: tf.Tensor): Float32Array {
  const r = tf.variableGrads(() => tf.sum(tf.mul(g, quant(w))) as tf.Scalar, [w]);
  const out = r.grads[w.name].dataSync() as Float32Array;
  tf.dispose([r.value, ...Object.values(r.grads)]);
  return out;
}

test('sym: ternary {-m, 0, m} at 2 bits with m = max|W| + 1e-8, 2^k - 1 levels otherwise; identity gradient', () => {
  const w = tf.variable(filter([3, 3, 4, 8], 1));
  const m = f(Math.max(...Array.from(w.dataSync(), Math.abs)) + f(1e-8));
  const q2 = quantizeWeightSym(w, 2).dataSync();
  assert.deepEqual([...new Set(Array.from(q2, (v) => v + 0))].sort(), [-m, 0, m].sort());
  const q4 = new Set(quantizeWeightSym(w, 4).dataSync());
  assert.ok(q4.size <= 15 && q4.size > 8, `${q4.size} levels at 4 bits`);
  const g = filter([3, 3, 4, 8], 2);
  const grad = gradOf((t) => quantizeWeightSym(t, 2), w, g);
  grad.forEach((v, i) => assert.ok(Math.abs(v - g.dataSync()[i]) <= 1e-7, `grad ${i}`));
  assert.throws(() => quantizeWeightSym(w, 1), /needs at least 2 bits/);
  tf.dispose([w, g]);
});

test('asym: min/max zero-aligned grid with 2^k levels, identity gradient', () => {
  const w = tf.variable(filter([3, 3, 4, 8], 3));
  for (const bits of [2, 3, 4]) {
    const q = quantizeWeightAsym(w, bits);
    const levels = new Set(q.dataSync());
    assert.ok(levels.size <= 2 ** bits, `${levels.size} levels at ${bits} bits`);
    assert.ok(levels.has(0), 'zero-aligned: 0 is a level');
    q.dispose();
  }
  const g = filter([3, 3, 4, 8], 4);
  const grad = gradOf((t) => quantizeWeightAsym(t, 2), w, g);
  grad.forEach((v, i) => assert.ok(Math.abs(v - g.dataSync()[i]) <= 1e-7, `grad ${i}`));
  const flat = tf.variable(tf.fill([1, 1, 2, 2], 0.3));
  assert.throws(() => quantizeWeightAsym(flat, 2, 'body.0.conv'), /body\.0\.conv: asym weight quantizer: max == min/);
  tf.dispose([w, g, flat]);
});

test('asym99: clip range = float32 numpy P1/P99 by selection; gradient 1 inside, 0 outside, 1/2 at an exact tie', () => {
  // 201 elements: (n-1) * 0.99 = 198 and (n-1) * 0.01 = 2 are integers, so both bounds are elements.
  const w = tf.variable(filter([1, 1, 3, 67], 5));
  const { lo, hi } = percentileClipRange(w, 99);
  const sorted = Float64Array.from(w.dataSync()).sort();
  assert.deepEqual([lo, hi], [f(sorted[2]), f(sorted[198])]);
  const [p99, p1] = percentiles(w.dataSync() as Float32Array, [99, 1]);
  assert.deepEqual([hi, lo], [f(p99), f(p1)]);
  const g = tf.ones([1, 1, 3, 67]);
  const grad = gradOf((t) => quantizeWeightAsym99(t, 2), w, g);
  const values = w.dataSync();
  let ties = 0;
  values.forEach((v, i) => {
    const want = v === hi || v === lo ? 0.5 : v > lo && v < hi ? 1 : 0;
    if (want === 0.5) ties++;
    assert.equal(grad[i], want, `element ${i} (${v})`);
  });
  assert.equal(ties, 2, 'one weight on each bound');
  const q = quantizeWeightAsym99(w, 3);
  assert.ok(new Set(q.dataSync()).size <= 8);
  tf.dispose([w, g, q]);
});

test('weightQuantizer dispatches by method and names the layer in errors', () => {
  const w = filter([3, 3, 2, 2], 6);
  for (const [method, direct] of [['asym99', (t: tf.Tensor) => quantizeWeightAsym99(t, 2)], ['asym', (t: tf.Tensor) => quantizeWeightAsym(t, 2)], ['sym', (t: tf.Tensor) => quantizeWeightSym(t, 2)]] as const) {
    const a = weightQuantizer(method, 2, 'body.1.body.0')(w);
    const b = direct(w);
    assert.deepEqual([...a.dataSync()], [...b.dataSync()], method);
    tf.dispose([a, b]);
  }
  const flat = tf.fill([3, 3, 2, 2], 0.1);
  assert.throws(() => weightQuantizer('asym99', 2, 'body.1.body.0')(flat), /body\.1\.body\.0: asym99 weight quantizer: P99 == P1/);
  tf.dispose([w, flat]);
});

test('weight quantizers leave no tensors behind (forward and backward)', () => {
  const w = tf.variable(filter([3, 3, 4, 4], 7));
  const g = filter([3, 3, 4, 4], 8);
  const before = tf.memory().numTensors;
  for (const quant of [(t: tf.Tensor) => quantizeWeightAsym99(t, 2), (t: tf.Tensor) => quantizeWeightAsym(t, 3), (t: tf.Tensor) => quantizeWeightSym(t, 2)]) {
    gradOf(quant, w, g);
    tf.tidy(() => { quant(w); });
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w, g]);
});
