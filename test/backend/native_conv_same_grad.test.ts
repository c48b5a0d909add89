/**
 * ConvSameGrad, the one-call conv backward (native/conv.cc conv2dBackward), against its composite
 * (lib/nn/conv.ts) run on the same backend: the composite's Step, Multiply, Conv2DBackpropInput,
 * Conv2DBackpropFilter and Sum are native kernels there too, so the fused call must give the same
 * bits (it runs the same primitives and the same Sum order, reordering dy once for both).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { assertFlatTensorCounts, assertSameValues, countCalls, nativeSkip, seeded } from './native_helpers';
import { ConvSameGrad } from '../../lib/backend/kernels/conv_same_grad';
import { conv2dSame, convSameGradComposite } from '../../lib/nn/conv';

const skip = nativeSkip();

interface Case { x: [number, number, number, number]; k: number; co: number; relu: boolean; bias: boolean }

const cases: Case[] = [
  { x: [2, 12, 12, 64], k: 3, co: 64, relu: true, bias: true },
  { x: [3, 9, 13, 64], k: 3, co: 64, relu: false, bias: true },
  { x: [1, 11, 7, 16], k: 3, co: 24, relu: true, bias: false },
  { x: [2, 10, 9, 64], k: 3, co: 3, relu: false, bias: true },  // under 8 outputs: dy NHWC for dx, blocked for dfilter
  { x: [1, 8, 8, 3], k: 3, co: 64, relu: false, bias: true },  // an SR head: 3 input channels
  { x: [1, 13, 11, 8], k: 9, co: 3, relu: false, bias: true },
  { x: [2, 7, 6, 40], k: 1, co: 16, relu: true, bias: true },
];

describe('ConvSameGrad: one native call, the composite bit for bit', () => {
  cases.forEach((c, i) => {
    test(`x [${c.x}] ${c.k}x${c.k} -> ${c.co}${c.relu ? ', relu mask' : ''}${c.bias ? ', bias' : ''}`, { skip }, () => tf.tidy(() => {
      const x = seeded(c.x, 300 + i), filter = seeded([c.k, c.k, c.x[3], c.co], 310 + i, -0.4, 0.4);
      const outShape = [c.x[0], c.x[1], c.x[2], c.co];
      const dy = seeded(outShape, 320 + i);
      const inputs: tf.NamedTensorMap = { dy, x, filter };
      if (c.relu) {
        const y = tf.relu(seeded(outShape, 330 + i));
        const yv = y.dataSync().slice();
        yv[0] = NaN;  // step(NaN) is NaN: the mask passes it on
        inputs.y = tf.tensor(yv, outShape);
      }
      const attrs = { withBias: c.bias };
      const fused = countCalls(ConvSameGrad, () => tf.engine().runKernel(ConvSameGrad, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]);
      assert.strictEqual(fused.native, 1, 'ConvSameGrad ran natively');
      const composite = convSameGradComposite(inputs as Record<string, tf.Tensor>, attrs as unknown as tf.NamedAttrMap);
      assert.strictEqual(fused.result.length, c.bias ? 3 : 2);
      ['dx', 'dfilter', 'dbias'].slice(0, composite.length).forEach((what, k) => assertSameValues(fused.result[k], composite[k], what));
    }));
  });

  test('a training-like loop through conv2dSame keeps tensor counts flat', { skip }, () => {
    const x = seeded([2, 9, 9, 16], 340), w = tf.variable(seeded([3, 3, 16, 16], 341, -0.3, 0.3));
    const b = tf.variable(seeded([16], 342, -0.1, 0.1));
    assertFlatTensorCounts(() => tf.tidy(() => {
      const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(conv2dSame(x as tf.Tensor4D, w as unknown as tf.Tensor4D, b, 'relu'))) as tf.Scalar, [w, b]);
      tf.dispose([value, ...Object.values(grads)]);
    }));
    tf.dispose([x, w, b]);
  });
});
