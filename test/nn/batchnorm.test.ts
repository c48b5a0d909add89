import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Prng } from '../../lib/data/prng';
import { BatchNorm2d, fmaF32 } from '../../lib/nn/batchnorm';

ensureBackend();
const f = Math.fround;

function input(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = Prng.fromSeed(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, () => (rng.nextFloat() - 0.2) * 3 + (seed % 3)), shape);
}

/** Per-channel float64 statistics of NHWC data. */
function stats(x: Float32Array, c: number): { mean: number[]; biased: number[]; unbiased: number[] } {
  const rows = x.length / c;
  const mean = Array.from({ length: c }, (_, k) => { let s = 0; for (let r = 0; r < rows; r++) s += x[r * c + k]; return s / rows; });
  const ss = Array.from({ length: c }, (_, k) => { let s = 0; for (let r = 0; r < rows; r++) s += (x[r * c + k] - mean[k]) ** 2; return s; });
  return { mean, biased: ss.map((v) => v / rows), unbiased: ss.map((v) => v / (rows - 1)) };
}

test('fmaF32 rounds a*b + c once to float32', () => {
  assert.equal(fmaF32(1.5, 2, 0.25), 3.25);
  // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 fits a float32; rounding the product first loses 2^-24.
  const a = 1 + 2 ** -12;
  assert.equal(fmaF32(a, a, -1), 2 ** -11 + 2 ** -24);
  assert.equal(f(f(a * a) - 1), 2 ** -11, 'unfused differs');
  // 3 * (5592407 / 2^24) = 1 + 2^-22 + 2^-24, a float32 midpoint; + 2^-60 must round up. The float64
  // sum lands on the midpoint itself (double rounding would give 1 + 2^-22).
  const b = 5592407 / 2 ** 24;
  assert.equal(f(b), b);
  assert.equal(f(3 * b + 2 ** -60), 1 + 2 ** -22, 'naive float64-then-float32 rounding');
  assert.equal(fmaF32(3, b, 2 ** -60), 1 + 2 ** -22 + 2 ** -23);
  assert.equal(fmaF32(3, b, -(2 ** -60)), 1 + 2 ** -22);
  assert.equal(fmaF32(-3, b, 2 ** -60), -(1 + 2 ** -22));
});

test('training: normalises with the biased batch variance, running stats with the unbiased one, momentum 0.1', () => {
  const bn = new BatchNorm2d(3, 'bn');
  bn.train();
  tf.tidy(() => { bn.weight.assign(tf.tensor1d([1.5, 0.5, 2])); bn.bias.assign(tf.tensor1d([0.1, -0.2, 0.3])); });
  const x = input([4, 3, 2, 3], 1);
  const y = bn.forward(x);
  const s = stats(x.dataSync() as Float32Array, 3);
  const xs = x.dataSync();
  const gamma = [1.5, 0.5, 2];
  const beta = [0.1, -0.2, 0.3];
  y.dataSync().forEach((v, i) => {
    const k = i % 3;
    const want = (xs[i] - s.mean[k]) / Math.sqrt(s.biased[k] + 1e-5) * gamma[k] + beta[k];
    assert.ok(Math.abs(v - want) < 1e-5, `y[${i}] ${v} vs ${want}`);
  });
  bn.runningMean.dataSync().forEach((v, k) => assert.ok(Math.abs(v - 0.1 * s.mean[k]) < 1e-6));
  bn.runningVar.dataSync().forEach((v, k) => assert.ok(Math.abs(v - (0.9 + 0.1 * s.unbiased[k])) < 1e-6));
  assert.equal(bn.numBatchesTracked.value, 1);
  bn.forward(x).dispose();
  assert.equal(bn.numBatchesTracked.value, 2, 'an integer counter');
  assert.equal(bn.stateDict().get('num_batches_tracked')!.dtype, 'int64');
  tf.dispose([x, y]);
  bn.dispose();
});

test('eval: normalises with the running statistics and leaves them alone', () => {
  const bn = new BatchNorm2d(2, 'bn');
  tf.tidy(() => { bn.runningMean.assign(tf.tensor1d([0.5, -1])); bn.runningVar.assign(tf.tensor1d([4, 0.25])); });
  bn.eval();
  const x = input([1, 2, 2, 2], 2);
  const y = bn.forward(x);
  const xs = x.dataSync();
  y.dataSync().forEach((v, i) => {
    const k = i % 2;
    const want = (xs[i] - [0.5, -1][k]) / Math.sqrt([4, 0.25][k] + 1e-5);
    assert.ok(Math.abs(v - want) < 1e-5);
  });
  assert.deepEqual([...bn.runningMean.dataSync(), ...bn.runningVar.dataSync()], [0.5, -1, 4, 0.25]);
  assert.equal(bn.numBatchesTracked.value, 0);
  tf.dispose([x, y]);
  bn.dispose();
});

test('training with one value per channel (a batch of 1 at 1x1) is refused, naming the layer', () => {
  const bn = new BatchNorm2d(32, 'body.1.quant_act1.atten_c.2');
  bn.train();
  const x = tf.ones([1, 1, 1, 32]) as tf.Tensor4D;
  assert.throws(() => bn.forward(x), /body\.1\.quant_act1\.atten_c\.2: BatchNorm2d in training mode needs more than one value per channel, got input \[1,1,1,32\]/);
  // As in PyTorch, a batch of 1 with several pixels per channel is fine.
  const x2 = input([1, 2, 2, 32], 3);
  bn.forward(x2).dispose();
  tf.dispose([x, x2]);
  bn.dispose();
});

test('gradients equal the autodiff of the textbook formula (training and eval)', () => {
  for (const training of [true, false]) {
    const bn = new BatchNorm2d(3, 'bn');
    bn.train(training);
    tf.tidy(() => { bn.weight.assign(tf.tensor1d([1.5, 0.5, 2])); bn.bias.assign(tf.tensor1d([0.1, -0.2, 0.3])); bn.runningVar.assign(tf.tensor1d([2, 3, 0.5])); });
    const x = tf.variable(input([3, 2, 2, 3], 4));
    const g = input([3, 2, 2, 3], 5);
    const vars = [x, bn.weight, bn.bias];
    const ours = tf.variableGrads(() => tf.sum(tf.mul(g, bn.forward(x as unknown as tf.Tensor4D))) as tf.Scalar, vars);
    const rm = bn.runningMean;
    const rv = bn.runningVar;
    const ref = tf.variableGrads(() => {
      const mean = training ? tf.mean(x, [0, 1, 2]) : rm;
      const variance = training ? tf.mean(tf.square(tf.sub(x, tf.mean(x, [0, 1, 2]))), [0, 1, 2]) : rv;
      const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), bn.weight), bn.bias);
      return tf.sum(tf.mul(g, y)) as tf.Scalar;
    }, vars);
    for (const v of vars) {
      const a = ours.grads[v.name].dataSync();
      const b = ref.grads[v.name].dataSync();
      a.forEach((e, i) => assert.ok(Math.abs(e - b[i]) <= 1e-4 * Math.max(1, Math.abs(b[i])), `${training ? 'train' : 'eval'} ${v.name}[${i}]: ${e} vs ${b[i]}`));
    }
    tf.dispose([x, g, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
    bn.dispose();
  }
});

test('official state-dict names, and no tensors left behind', () => {
  const bn = new BatchNorm2d(4, 'bn');
  assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  const x = input([2, 3, 3, 4], 6);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.tidy(() => { bn.forward(x); });
  bn.eval();
  tf.tidy(() => { bn.forward(x); });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(x);
  bn.dispose();
});
