/**
 * lib/nn/gradients.ts: `variableGrads` gives tfjs's gradients bit for bit while freeing saved
 * tensors and used gradients during the backward pass; and lib/nn/conv.ts's `conv2dSame` (one
 * FusedConv2D kernel that keeps only x, the filter, and y for a ReLU) matches tfjs's linear
 * `fused.conv2d` followed by `tf.relu`, the layers' previous path.
 * Runs on the native kernels and on pure JS (DDTB_NATIVE=0).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { variableGrads, SHAPE_ONLY_GRADIENTS } from '../../lib/nn/gradients';
import { conv2dSame } from '../../lib/nn/conv';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { setDynamicLayers } from '../../lib/models/dynamic';
import { officialRecipe } from '../../lib/quant/recipe';
import { l1Loss } from '../../lib/train/losses';
import { Prng } from '../../lib/data/prng';
import { seeded } from '../backend/native_helpers';

ensureBackend();

/** Host copies of a gradient map, by name. */
function host(grads: tf.NamedTensorMap): Map<string, Float32Array> {
  return new Map(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array]));
}

function assertSameGrads(ours: Map<string, Float32Array>, ref: Map<string, Float32Array>, what: string): void {
  assert.deepStrictEqual([...ours.keys()].sort(), [...ref.keys()].sort(), `${what}: the same variables get gradients`);
  for (const [name, r] of ref) {
    const o = ours.get(name)!;
    for (let i = 0; i < r.length; i++) {
      if (!Object.is(o[i], r[i])) assert.fail(`${what}: gradient of ${name}[${i}] is ${o[i]}, tf.variableGrads gives ${r[i]}`);
    }
  }
}

/** Runs both and compares value and gradients bit for bit; checks no tensor is left behind. */
function compare(f: () => tf.Scalar, vars: tf.Variable[], what: string): void {
  const before = tf.memory().numTensors;
  const ref = tf.variableGrads(f, vars);
  const refValue = ref.value.dataSync()[0];
  const refGrads = host(ref.grads);
  tf.dispose([ref.value, ...Object.values(ref.grads)]);
  const ours = variableGrads(f, vars);
  assert.ok(Object.is(ours.value.dataSync()[0], refValue), `${what}: loss ${ours.value.dataSync()[0]} vs ${refValue}`);
  assertSameGrads(host(ours.grads), refGrads, what);
  tf.dispose([ours.value, ...Object.values(ours.grads)]);
  assert.strictEqual(tf.memory().numTensors, before, `${what}: tensors left behind`);
}

describe('variableGrads (frees during the backward pass)', () => {
  test('every shape-only gradient, with broadcasting, equals tf.variableGrads', () => {
    const a = tf.variable(seeded([2, 3, 4], 1));
    const b = tf.variable(seeded([1, 3, 1], 2));
    const c = tf.variable(seeded([4], 3));
    const f = () => tf.tidy(() => {
      const s = tf.sub(tf.add(a, b), c);                               // Add, Sub with broadcasting
      const r = tf.reshape(s, [6, 4]);                                 // Reshape
      const cat = tf.concat([r, tf.mul(r, r)], 1);                     // Concat (a Multiply inside)
      const sl = tf.slice(cat, [1, 2], [4, 5]);                        // Slice
      const m = tf.mean(tf.mul(sl, sl), 0);                            // Mean
      return tf.add(tf.sum(tf.mul(m, tf.sum(sl, 1).slice([0], [1]))), tf.sum(tf.exp(sl))) as tf.Scalar; // Sum
    });
    compare(f, [a, b, c], 'shape-only ops');
    for (const k of ['Add', 'Sub', 'Reshape', 'Concat', 'Slice', 'Mean', 'Sum']) assert.ok(SHAPE_ONLY_GRADIENTS.has(k), k);
    tf.dispose([a, b, c]);
  });

  test('a tiny FP EDSR and a 2-bit DDTB EDSR with gates: loss and every gradient bit-identical', () => {
    const model: ModelConfig = { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 };
    const lr = seeded([2, 6, 6, 3], 4, 0, 255) as tf.Tensor4D;
    const hr = seeded([2, 12, 12, 3], 5, 0, 255) as tf.Tensor4D;
    const fp = buildNetwork(model, null, null, Prng.fromSeed(6)).train();
    const fpVars = fp.namedParameters().map(([, p]) => p.variable);
    compare(() => l1Loss(fp.forward(lr).sr, hr), fpVars, 'FP EDSR');
    const graph = quantGraphFor(model, { bits: 2, act: 'ddtb' });
    const q = buildNetwork(model, graph, officialRecipe({ rng: Prng.fromSeed(7) }), Prng.fromSeed(8));
    setDynamicLayers(q, graph.acts.filter((x) => x.active).slice(0, 2).map((x) => x.name));
    q.train();
    // the first forward calibrates the bounds; after it both runs see the same parameters
    tf.tidy(() => { q.forward(lr); });
    const qVars = q.namedParameters().map(([, p]) => p.variable);
    compare(() => l1Loss(q.forward(lr).sr, hr), qVars, 'DDTB EDSR 2-bit');
    tf.dispose([lr, hr]);
    fp.dispose();
    q.dispose();
  });

  test('frees as it goes: far fewer bytes alive when the backward pass reaches the first op', () => {
    // 12 convs with ReLU; a probe at the input records the live bytes when its gradient runs (last)
    const x = seeded([2, 16, 16, 8], 9) as tf.Tensor4D;
    const ws = Array.from({ length: 12 }, (_, i) => tf.variable(seeded([3, 3, 8, 8], 10 + i, -0.2, 0.2)));
    const probe = tf.variable(tf.zeros([1]));
    let liveAtProbe = 0;
    const probeOp = tf.customGrad(((xi: tf.Tensor, p: tf.Tensor) => ({
      value: tf.add(xi, p),
      gradFunc: (dy: tf.Tensor) => { liveAtProbe = tf.memory().numBytes; return [dy, tf.sum(dy).reshape([1])]; },
    })) as unknown as (...a: Array<tf.Tensor | tf.GradSaveFunc>) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor[] });
    const f = () => {
      let h = probeOp(x, probe) as tf.Tensor4D;
      for (const w of ws) h = tf.relu(tf.conv2d(h, w as tf.Tensor4D, 1, 'same'));
      return tf.sum(tf.mul(h, h)) as tf.Scalar;
    };
    const ref = tf.variableGrads(f, [probe, ...ws]);
    const refLive = liveAtProbe;
    tf.dispose([ref.value, ...Object.values(ref.grads)]);
    const ours = variableGrads(f, [probe, ...ws]);
    const ourLive = liveAtProbe;
    tf.dispose([ours.value, ...Object.values(ours.grads)]);
    const activation = 2 * 16 * 16 * 8 * 4;
    assert.ok(refLive > 20 * activation, `tf.variableGrads holds ${refLive} bytes at the first op (expected every activation and gradient)`);
    assert.ok(ourLive < refLive / 3, `variableGrads holds ${ourLive} bytes at the first op, tf.variableGrads ${refLive}`);
    tf.dispose([x, probe, ...ws]);
  });

  test('inside another gradient (higher order) it defers to tfjs; errors leave nothing behind', () => {
    const w = tf.variable(tf.scalar(3));
    const before = tf.memory().numTensors;
    const d2 = tf.tidy(() => tf.grad((v: tf.Tensor) => {
      const { value, grads } = variableGrads(() => tf.mul(tf.mul(w, w), v) as tf.Scalar, [w]);
      value.dispose();
      return tf.mul(grads[w.name], v);
    })(tf.scalar(2)).dataSync()[0]);
    assert.strictEqual(d2, 2 * 2 * 3 * 2, 'd/dv of (2 w v) v at w=3, v=2');
    assert.throws(() => variableGrads(() => tf.mul(w, tf.ones([2])) as unknown as tf.Scalar, [w]), /must return a scalar/);
    assert.throws(() => variableGrads(() => tf.scalar(1), [w]), /no variable is connected/);
    assert.strictEqual(tf.memory().numTensors, before, 'tensors left behind');
    w.dispose();
  });
});

/**
 * What the layers computed before conv2dSame took the activation: tfjs's linear fused conv (one
 * FusedConv2D kernel with the bias), then tf.relu. (tfjs's own fused ReLU is not the reference: under
 * a gradient tape it splits into Conv2D, Add and Relu, whose bias addition rounds differently.)
 */
function tfjsConv(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor | null, activation: 'linear' | 'relu'): tf.Tensor4D {
  const y = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b ?? undefined });
  return activation === 'relu' ? tf.relu(y) : y;
}

describe('conv2dSame (one FusedConv2D kernel, frugal saves)', () => {
  for (const activation of ['linear', 'relu'] as const) {
    for (const withBias of [true, false]) {
      test(`${activation}, ${withBias ? 'bias' : 'no bias'}: forward and gradients equal fused.conv2d (+ tf.relu) bit for bit`, () => {
        const x = tf.variable(seeded([2, 7, 5, 3], 20));
        const w = tf.variable(seeded([3, 3, 3, 4], 21, -0.5, 0.5));
        const b = tf.variable(seeded([4], 22));
        const g = seeded([2, 7, 5, 4], 23);
        const ours = () => tf.sum(tf.mul(conv2dSame(x as tf.Tensor4D, w as tf.Tensor4D, withBias ? b : null, activation), g)) as tf.Scalar;
        const ref = () => tf.sum(tf.mul(tfjsConv(x as tf.Tensor4D, w as tf.Tensor4D, withBias ? b : null, activation), g)) as tf.Scalar;
        const vars = withBias ? [x, w, b] : [x, w];
        const a = tf.variableGrads(ours, vars);
        const r = tf.variableGrads(ref, vars);
        assert.ok(Object.is(a.value.dataSync()[0], r.value.dataSync()[0]), 'forward');
        assertSameGrads(host(a.grads), host(r.grads), `conv2dSame ${activation}`);
        // and the output itself, outside any gradient
        const yo = tf.tidy(() => conv2dSame(x as tf.Tensor4D, w as tf.Tensor4D, withBias ? b : null, activation).dataSync());
        const yr = tf.tidy(() => tfjsConv(x as tf.Tensor4D, w as tf.Tensor4D, withBias ? b : null, activation).dataSync());
        assert.deepStrictEqual(Array.from(yo), Array.from(yr));
        tf.dispose([a.value, r.value, ...Object.values(a.grads), ...Object.values(r.grads), x, w, b, g]);
      });
    }
  }

  test('with a residual (ConvSameAdd): gradients bit for bit those of conv2dSame + tf.add; so is the value on the composite', () => {
    const x = tf.variable(seeded([2, 7, 5, 3], 24)), r = tf.variable(seeded([2, 7, 5, 4], 25));
    const w = tf.variable(seeded([3, 3, 3, 4], 26, -0.5, 0.5)), b = tf.variable(seeded([4], 27));
    const g = seeded([2, 7, 5, 4], 28);
    const fused = () => conv2dSame(x as tf.Tensor4D, w as tf.Tensor4D, b, 'linear', r as tf.Tensor4D);
    const plain = () => tf.add(conv2dSame(x as tf.Tensor4D, w as tf.Tensor4D, b), r) as tf.Tensor4D;
    const a = tf.variableGrads(() => tf.sum(tf.mul(fused(), g)) as tf.Scalar, [x, w, b, r]);
    const e = tf.variableGrads(() => tf.sum(tf.mul(plain(), g)) as tf.Scalar, [x, w, b, r]);
    assertSameGrads(host(a.grads), host(e.grads), 'conv2dSame + residual');
    // natively the conv and the residual are summed in one oneDNN call (test/backend/native_conv_same_add.test.ts)
    if (!ensureBackend().native.loaded) {
      assert.deepStrictEqual(Array.from(tf.tidy(() => fused().dataSync())), Array.from(tf.tidy(() => plain().dataSync())));
    }
    tf.dispose([a.value, e.value, ...Object.values(a.grads), ...Object.values(e.grads), x, r, w, b, g]);
  });
});
