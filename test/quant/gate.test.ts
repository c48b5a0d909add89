import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Prng } from '../../lib/data/prng';
import { OfficialGate, conv1x1F32, globalAveragePool, sigmoidF32, torchInnerSumF32 } from '../../lib/quant/gate';

ensureBackend();

function input(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = Prng.fromSeed(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, () => (rng.nextFloat() - 0.3) * 3), shape);
}

test("torchInnerSumF32 adds in PyTorch's order: 8-lane vectors, then the tail, then the lanes", () => {
  // 9 values: one vector [1e8, 1 x 7] and a tail [-1e8]. PyTorch: (0 + -1e8) + 1e8 + 1 + ... = 7;
  // a left-to-right float32 sum would absorb the ones into 1e8 and give 0.
  const row = Float32Array.from([1e8, 1, 1, 1, 1, 1, 1, 1, -1e8]);
  assert.equal(torchInnerSumF32(row), 7);
  let seq = 0;
  for (const v of row) seq = Math.fround(seq + v);
  assert.equal(seq, 0);
  // Exactly representable sums are exact, short rows (scalar path) and long rows (cascade) alike.
  for (const n of [1, 3, 7, 8, 36, 100, 1000, 70000]) {
    const r = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
    const want = Array.from(r).reduce((a, b) => a + b, 0);
    assert.equal(torchInnerSumF32(r), want, `n = ${n}`);
  }
});

test('globalAveragePool: [N,H,W,C] -> [N,1,1,C] means, within float32 rounding of tf.mean', () => {
  const x = input([2, 6, 5, 3], 1);
  const a = globalAveragePool(x);
  const b = tf.mean(x, [1, 2], true);
  assert.deepEqual(a.shape, [2, 1, 1, 3]);
  a.dataSync().forEach((v, i) => assert.ok(Math.abs(v - b.dataSync()[i]) <= 1e-6, `${i}`));
  tf.dispose([x, a, b]);
});

test('conv1x1F32 equals a 1x1 conv (values and both gradients)', () => {
  const x = tf.variable(input([3, 1, 1, 8], 2));
  const w = tf.variable(input([1, 1, 8, 5], 3));
  const g = input([3, 1, 1, 5], 4);
  const ours = tf.variableGrads(() => tf.sum(tf.mul(g, conv1x1F32(x as unknown as tf.Tensor4D, w as unknown as tf.Tensor4D))) as tf.Scalar, [x, w]);
  const ref = tf.variableGrads(() => tf.sum(tf.mul(g, tf.conv2d(x as unknown as tf.Tensor4D, w as unknown as tf.Tensor4D, 1, 'valid'))) as tf.Scalar, [x, w]);
  assert.ok(Math.abs(ours.value.dataSync()[0] - ref.value.dataSync()[0]) < 1e-4);
  for (const v of [x, w]) {
    const a = ours.grads[v.name].dataSync();
    const b = ref.grads[v.name].dataSync();
    a.forEach((e, i) => assert.ok(Math.abs(e - b[i]) <= 1e-5, `grad ${i}`));
  }
  assert.throws(() => conv1x1F32(tf.zeros([1, 2, 2, 8]) as tf.Tensor4D, w as unknown as tf.Tensor4D), /conv1x1F32: expects x \[N,1,1,C\]/);
  tf.dispose([x, w, g, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
});

test('sigmoidF32 is the float32 sigmoid (within an ulp of tf.sigmoid) and differentiable', () => {
  const c = tf.variable(tf.tensor1d([-3, -0.5, 0, 1e-19, 0.7, 4]));
  const a = sigmoidF32(c).dataSync();
  const b = tf.sigmoid(c).dataSync();
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1.2e-7, `${i}`));
  assert.equal(a[2], 0.5);
  assert.equal(a[3], 0.5);
  const r = tf.variableGrads(() => tf.sum(sigmoidF32(c)) as tf.Scalar, [c]);
  r.grads[c.name].dataSync().forEach((v, i) => assert.ok(Math.abs(v - b[i] * (1 - b[i])) <= 1e-6));
  tf.dispose([c, r.value, ...Object.values(r.grads)]);
});

test('OfficialGate: stages, shapes, beta in (0, 2), state dict under atten_c indices 1, 2, 5', () => {
  const gate = new OfficialGate({ channels: 8, layer: 'body.4.quant_act1', gradient: 'official', rng: Prng.fromSeed(5) });
  assert.deepEqual([...gate.stateDict().keys()], ['1.weight', '2.weight', '2.bias', '2.running_mean', '2.running_var', '2.num_batches_tracked', '5.weight']);
  gate.eval();
  const x = input([3, 4, 4, 8], 6);
  const st = gate.stages(x);
  assert.deepEqual(st.pooled.shape, [3, 1, 1, 8]);
  assert.deepEqual(st.stage.map((t) => t.shape), [[3, 1, 1, 8], [3, 1, 1, 32], [3, 1, 1, 32], [3, 1, 1, 32], [3, 1, 1, 32], [3, 1, 1, 2]]);
  assert.ok(st.stage[3].dataSync().every((v) => v >= 0), 'ReLU');
  assert.ok(new Set(st.stage[0].dataSync()).size <= 4 && new Set(st.stage[4].dataSync()).size <= 4, '2-bit activations');
  assert.ok(new Set(Array.from(st.weight1.dataSync(), Math.abs)).size <= 2, 'ternary weights');
  assert.deepEqual(st.upper.shape, [3, 1, 1, 1]);
  for (const v of [...st.upper.dataSync(), ...st.lower.dataSync()]) assert.ok(v > 0 && v < 2);
  const c = st.logits.dataSync();
  assert.ok(Math.abs(st.upper.dataSync()[1] - 2 / (1 + Math.exp(-c[2]))) < 1e-6, 'beta_u = 2 sigmoid(c[..., 0])');
  assert.ok(Math.abs(st.lower.dataSync()[1] - 2 / (1 + Math.exp(-c[3]))) < 1e-6, 'beta_l = 2 sigmoid(c[..., 1])');
  tf.dispose([x, st.pooled, ...st.stage, st.weight1, st.weight5, st.upper, st.lower]);
  gate.dispose();
});

test('OfficialGate in training mode with a batch of 1 is refused (BatchNorm), naming the layer', () => {
  const gate = new OfficialGate({ channels: 4, layer: 'body.4.quant_act1', gradient: 'official', rng: Prng.fromSeed(5) });
  gate.train();
  const x = input([1, 3, 3, 4], 7);
  assert.throws(() => gate.scales(x), /body\.4\.quant_act1\.atten_c\.2: BatchNorm2d in training mode needs more than one value per channel/);
  gate.eval();
  const s = gate.scales(x);
  tf.dispose([x, s.upper, s.lower, s.logits]);
  gate.dispose();
});
