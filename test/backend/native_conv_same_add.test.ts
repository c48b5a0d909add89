/**
 * ConvSameAdd, a conv plus a residual in one kernel (native/conv.cc conv2dForward with a residual),
 * against its composite (lib/nn/conv.ts: FusedConv2D, then Add) on the same backend, and
 * conv2dSame's residual form against conv2dSame followed by tf.add, gradients included.
 *
 * The native conv starts from the residual and adds the conv into it, in whatever order oneDNN sums
 * a conv with that post-op; the composite rounds conv + bias first and adds the residual after. So
 * each element must lie within the summation bound of the composite's, with the residual as one more
 * term (K = KH*KW*CI + 2: the taps, the bias and the residual).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  assertFlatTensorCounts, assertSameValues, assertWithinSummationBound, countCalls, nativeSkip, seeded, withEnv,
} from './native_helpers';
import { ConvSameAdd } from '../../lib/backend/kernels/conv_same_add';
import { withPureJsKernels } from '../../lib/backend/native';
import { conv2dSame, convSameAddComposite } from '../../lib/nn/conv';

const skip = nativeSkip();

interface Case { x: [number, number, number, number]; k: number; co: number; bias: boolean; layout?: string }

const cases: Case[] = [
  { x: [2, 12, 12, 64], k: 3, co: 64, bias: true },  // an EDSR body conv
  { x: [2, 12, 12, 64], k: 3, co: 64, bias: true, layout: 'blocked' },  // residual reordered into the blocked dst
  { x: [1, 11, 7, 16], k: 3, co: 24, bias: false },
  { x: [2, 10, 9, 64], k: 3, co: 3, bias: true },  // few outputs: conv_narrow.cc, then the residual added
  { x: [1, 9, 8, 5], k: 5, co: 7, bias: true },
];

describe('ConvSameAdd: conv + bias + residual in one native call', () => {
  cases.forEach((c, i) => {
    const title = `x [${c.x}] ${c.k}x${c.k} -> ${c.co}${c.bias ? ', bias' : ''}${c.layout ? `, ${c.layout}` : ''}`;
    test(`${title}: within the bound of FusedConv2D + Add`, { skip }, () => withEnv('DDTB_CONV_LAYOUT', c.layout ?? process.env.DDTB_CONV_LAYOUT, () => tf.tidy(() => {
      const x = seeded(c.x, 400 + i), filter = seeded([c.k, c.k, c.x[3], c.co], 410 + i, -0.4, 0.4);
      const residual = seeded([c.x[0], c.x[1], c.x[2], c.co], 420 + i, -4, 4);
      const inputs: tf.NamedTensorMap = c.bias ? { x, filter, bias: seeded([c.co], 430 + i), residual } : { x, filter, residual };
      const fused = countCalls(ConvSameAdd, () => tf.engine().runKernel(ConvSameAdd, inputs, {}) as tf.Tensor);
      assert.strictEqual(fused.native, 1, 'ConvSameAdd ran natively');
      const composite = convSameAddComposite(inputs as Record<string, tf.Tensor>);
      const abs: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) abs[k] = tf.abs(v);
      const magnitude = withPureJsKernels(() => convSameAddComposite(abs));
      assertWithinSummationBound(fused.result, composite, magnitude, c.k * c.k * c.x[3] + 2, 'ConvSameAdd');
      // and the pure-JS composite, the reference of every backend
      const js = withPureJsKernels(() => convSameAddComposite(inputs as Record<string, tf.Tensor>));
      assertWithinSummationBound(fused.result, js, magnitude, c.k * c.k * c.x[3] + 2, 'ConvSameAdd vs pure JS');
    })));
  });

  test('conv2dSame with a residual: the value of conv2dSame + tf.add, and the same gradients bit for bit', { skip }, () =>
    tf.tidy(() => {
      const x = seeded([2, 9, 11, 16], 440) as tf.Tensor4D, w = seeded([3, 3, 16, 16], 441, -0.3, 0.3) as tf.Tensor4D;
      const b = seeded([16], 442, -0.1, 0.1), r = seeded([2, 9, 11, 16], 443) as tf.Tensor4D;
      const fusedOut = conv2dSame(x, w, b, 'linear', r), plainOut = tf.add(conv2dSame(x, w, b), r);
      const mag = withPureJsKernels(() => tf.add(conv2dSame(tf.abs(x), tf.abs(w), tf.abs(b)), tf.abs(r)));
      assertWithinSummationBound(fusedOut, plainOut, mag, 9 * 16 + 2, 'forward');
      // the backward of both is ConvSameGrad on dy, and dy itself for the residual: given the same
      // upstream gradient (not one computed from the slightly different outputs) they agree exactly
      const dy = seeded([2, 9, 11, 16], 444);
      const fusedGrads = tf.grads((xx, ww, bb, rr) => tf.sum(tf.mul(conv2dSame(xx as tf.Tensor4D, ww as tf.Tensor4D, bb, 'linear', rr as tf.Tensor4D), dy)))([x, w, b, r]);
      const plainGrads = tf.grads((xx, ww, bb, rr) => tf.sum(tf.mul(tf.add(conv2dSame(xx as tf.Tensor4D, ww as tf.Tensor4D, bb), rr), dy)))([x, w, b, r]);
      ['dx', 'dfilter', 'dbias', 'dresidual'].forEach((what, k) => assertSameValues(fusedGrads[k], plainGrads[k], what));
    }));

  test('a residual of another shape is a clear error, not a wrong sum', { skip }, () => tf.tidy(() => {
    const x = seeded([1, 6, 6, 8], 450) as tf.Tensor4D, w = seeded([3, 3, 8, 8], 451) as tf.Tensor4D;
    assert.throws(() => conv2dSame(x, w, null, 'linear', seeded([1, 6, 6, 4], 452) as tf.Tensor4D), /shape|broadcast/i);
    assert.throws(() => conv2dSame(x, w, null, 'relu', seeded([1, 6, 6, 8], 453) as tf.Tensor4D), /residual.*linear/);
  }));

  test('a training-like loop through conv2dSame with a residual keeps tensor counts flat', { skip }, () => {
    const x = seeded([2, 9, 9, 16], 460) as tf.Tensor4D, w = tf.variable(seeded([3, 3, 16, 16], 461, -0.3, 0.3));
    const b = tf.variable(seeded([16], 462, -0.1, 0.1));
    assertFlatTensorCounts(() => tf.tidy(() => {
      const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(conv2dSame(x, w as unknown as tf.Tensor4D, b, 'linear', x))) as tf.Scalar, [w, b]);
      tf.dispose([value, ...Object.values(grads)]);
    }));
    tf.dispose([x, w, b]);
  });
});
