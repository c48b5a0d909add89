/**
 * A tiny EDSR-like training step (head conv, a residual block conv-ReLU-conv, global skip, x2 pixel
 * shuffle by reshape/transpose, tail conv, L1 loss, gradients of every weight and bias) with the
 * native kernels against the same step on the pure-JS kernels, and its tensor count over steps.
 *
 * Tolerance: the loss and every gradient within 1e-5 relative (L2 norm of the difference over the
 * norm of the JS gradient). Only the conv gradients' summation order differs (the element-wise
 * kernels and reductions are bit-exact, see the other files); the ReLU and L1 derivatives are
 * step functions, so a sign flip of a value within rounding of 0 could move one element by |dy|,
 * which is why this is a norm test and the kernel files test element-wise bounds.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { kernelCalls, resetKernelCalls, withPureJsKernels } from '../../lib/backend/native';
import { nativeSkip, seeded } from './native_helpers';

const skip = nativeSkip();

const feats = 8;

/** Weights HWIO and biases of the tiny network, seeded. */
function makeParams(): tf.Tensor[] {
  const shapes = [[3, 3, 3, feats], [feats], [3, 3, feats, feats], [feats], [3, 3, feats, feats], [feats],
    [3, 3, feats, 4 * feats], [4 * feats], [3, 3, feats, 3], [3]];
  return shapes.map((s, i) => seeded(s, 200 + i, -0.3, 0.3));
}

/** [N,H,W,4C] -> [N,2H,2W,C], PyTorch's PixelShuffle channel order. */
function pixelShuffle2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const co = c / 4;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, co, 2, 2]), [0, 1, 4, 2, 5, 3]), [n, 2 * h, 2 * w, co]) as tf.Tensor4D;
}

function loss(lr: tf.Tensor4D, hr: tf.Tensor4D, p: tf.Tensor[]): tf.Scalar {
  const conv = (x: tf.Tensor4D, k: number, activation: 'linear' | 'relu' = 'linear') =>
    tf.fused.conv2d({ x, filter: p[2 * k] as tf.Tensor4D, strides: 1, pad: 'same', bias: p[2 * k + 1], activation });
  const head = conv(lr, 0);
  const body = tf.add(head, conv(conv(head, 1, 'relu'), 2));
  const up = pixelShuffle2(conv(tf.add(body, head), 3));
  return tf.mean(tf.abs(tf.sub(conv(up, 4), hr)));
}

describe('tiny EDSR-like training step, native against pure JS', () => {
  test('loss and all 10 gradients agree to 1e-5 relative; the hot kernels ran natively', { skip }, () => tf.tidy(() => {
    const lr = seeded([2, 9, 7, 3], 1, 0, 1) as tf.Tensor4D, hr = seeded([2, 18, 14, 3], 2, 0, 1) as tf.Tensor4D;
    const params = makeParams();
    const f = (...p: tf.Tensor[]) => loss(lr, hr, p);
    resetKernelCalls();
    const native = tf.valueAndGrads(f)(params);
    const used = new Map([...kernelCalls()].map(([k, c]) => [k, { ...c }]));
    const js = withPureJsKernels(() => tf.valueAndGrads(f)(params));
    const l0 = native.value.dataSync()[0], l1 = js.value.dataSync()[0];
    assert.ok(Math.abs(l0 - l1) <= 1e-5 * Math.abs(l1), `loss ${l0} vs ${l1}`);
    native.grads.forEach((g, i) => {
      const rel = tf.norm(tf.sub(g, js.grads[i])).dataSync()[0] / tf.norm(js.grads[i]).dataSync()[0];
      assert.ok(rel < 1e-5, `gradient ${i}: relative difference ${rel}`);
    });
    for (const k of ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Transpose', 'Sum',
      'Mean', 'Add', 'Sub', 'Multiply', 'Relu', 'Step', 'Abs']) {
      const c = used.get(k);
      assert.ok(c && c.native > 0 && c.fallback === 0, `${k}: ${JSON.stringify(c)}`);
    }
  }));

  test('20 optimiser steps keep the tensor count of the first', { skip }, () => {
    const lr = seeded([2, 9, 7, 3], 3, 0, 1) as tf.Tensor4D, hr = seeded([2, 18, 14, 3], 4, 0, 1) as tf.Tensor4D;
    const vars = makeParams().map((t) => { const v = tf.variable(t); t.dispose(); return v; });
    const opt = tf.train.adam(1e-3);
    const step = () => tf.tidy(() => { opt.minimize(() => loss(lr, hr, vars), false, vars); });
    step();
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 19; i++) step();
    assert.strictEqual(tf.memory().numTensors, after1);
    opt.dispose();
    tf.dispose([lr, hr, ...vars]);
  });
});
