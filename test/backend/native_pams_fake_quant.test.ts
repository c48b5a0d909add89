/**
 * The fused native PAMS fake-quant kernels (native/pams_quant.cc) against their composite
 * implementation (lib/quant/pams.ts, run through withPureJsKernels): forward outputs and both
 * gradients [dx, dalpha] identical element by element, with and without the clamp, on random
 * tensors with exact ties at +-alpha, odd shapes, k = 2..8, and IEEE special values; and the
 * gradient of `pamsFakeQuant` against the closed form.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { pamsFakeQuant } from '../../lib/quant/pams';
import { PamsFakeQuant, PamsFakeQuantGrad } from '../../lib/backend/kernels/pams_fake_quant';
import { withPureJsKernels } from '../../lib/backend/native';
import { assertSameValues, countCalls, nativeSkip, seededValues } from './native_helpers';

const skip = nativeSkip();

function checkBothWays(x: tf.Tensor, alpha: tf.Tensor, dy: tf.Tensor, bits: number, clamp: boolean, what: string): void {
  tf.tidy(() => {
    const attrs = { bits, clamp } as unknown as tf.NamedAttrMap;
    const forward = () => tf.engine().runKernel(PamsFakeQuant, { x, alpha }, attrs) as tf.Tensor;
    const fw = countCalls(PamsFakeQuant, forward);
    assert.strictEqual(fw.native, 1, `${what}: the forward ran natively`);
    const pure = countCalls(PamsFakeQuant, () => withPureJsKernels(forward));
    assert.deepStrictEqual([pure.native, pure.fallback], [0, 0], `${what}: withPureJsKernels ran the composite itself`);
    assertSameValues(fw.result, pure.result, `${what}: forward`);
    const output = fw.result;
    const backward = () => tf.engine().runKernel(PamsFakeQuantGrad, { dy, x, alpha, output }, attrs) as tf.Tensor[];
    const bw = countCalls(PamsFakeQuantGrad, backward);
    assert.strictEqual(bw.native, 1, `${what}: the backward ran natively`);
    const composite = withPureJsKernels(backward);
    assertSameValues(bw.result[0], composite[0], `${what}: dx`);
    assertSameValues(bw.result[1], composite[1], `${what}: dalpha`);
  });
}

describe('native PAMS fake quant equals the composite bit for bit', () => {
  for (const shape of [[3, 5, 7, 11], [1, 1, 1, 1], [2, 9, 13, 3], [16, 12, 12, 64], [37]]) {
    test(`random x [${shape}] with ties at +-alpha, k = 2, 3, 4, 8, clamp on and off`, { skip }, () => {
      const size = shape.reduce((a, b) => a * b, 1);
      for (const bits of [2, 3, 4, 8]) {
        for (const clamp of [true, false]) {
          tf.tidy(() => {
            const a = 1.7;
            const v = seededValues(size, 10 + bits, -4, 4);
            for (let i = 0; i < size; i += 5) v[i] = (i / 5) % 2 === 0 ? a : -a;
            const x = tf.tensor(v, shape);
            const dy = tf.tensor(seededValues(size, 20 + bits, -2, 2), shape);
            checkBothWays(x, tf.tensor1d([a]), dy, bits, clamp, `[${shape}] k=${bits} clamp=${clamp}`);
          });
        }
      }
    });
  }

  test('NaN, infinities, signed zeros and huge values', { skip }, () => tf.tidy(() => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38, 2, -1, 1e7];
    const xv = seededValues(2 * 4 * 4 * 6, 9, -3, 3), gv = seededValues(xv.length, 10, -1, 1);
    for (let i = 0; i < xv.length; i += 3) xv[i] = special[(i / 3) % special.length];
    const x = tf.tensor(xv, [2, 4, 4, 6]), dy = tf.tensor(gv, [2, 4, 4, 6]);
    checkBothWays(x, tf.scalar(2), dy, 2, true, 'special values');
  }));

  test('ties of c qmax / a at -0.5 and 0.5 round as tfjs rounds them (+0 for -0.5)', { skip }, () => tf.tidy(() => {
    const x = tf.tensor1d([-1, 1, -3, 3, -0.999, 0.999, -5, 5]);
    const dy = tf.ones([8]);
    checkBothWays(x, tf.scalar(2), dy, 2, true, 'ties at +-0.5');
    checkBothWays(x, tf.scalar(2), dy, 3, false, 'ties at +-1.5, no clamp');
  }));

  test('an int32 x runs the composite', { skip }, () => tf.tidy(() => {
    const x = tf.tensor1d([-3, -1, 0, 2, 5], 'int32');
    const calls = countCalls(PamsFakeQuant, () => tf.engine().runKernel(PamsFakeQuant, { x, alpha: tf.tensor1d([2]) },
      { bits: 2, clamp: true } as unknown as tf.NamedAttrMap) as tf.Tensor);
    assert.deepStrictEqual([calls.native, calls.fallback], [0, 1]);
  }));
});

test('pamsFakeQuant gradients match the closed form: dx = [|x| <= a], dalpha = sum of +1 above, -1 below, (x^ - x)/a inside', () => {
  const xs = [-3, -1.5, -0.9, -0.2, 0.2, 0.7, 1.5, 2.5];
  const a = 1.5;
  const x = tf.tensor1d(xs);
  const alpha = tf.variable(tf.tensor1d([a]));
  const before = tf.memory().numTensors;
  const direct = pamsFakeQuant(x, alpha, 3);
  assert.equal(tf.memory().numTensors, before + 1, 'a direct call leaves only its output');
  direct.dispose();
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(pamsFakeQuant(xi, alpha, 3)))(x);
  assert.deepStrictEqual(Array.from(dx.dataSync()), [0, 1, 1, 1, 1, 1, 1, 0]);
  const { value, grads } = tf.variableGrads(() => tf.sum(pamsFakeQuant(x, alpha, 3)) as tf.Scalar, [alpha]);
  const q = 3; // qmax at 3 bits
  let want = 0;
  for (const v of xs) {
    if (v > a) want += 1;
    else if (v < -a) want -= 1;
    else want += (Math.round((v * q) / a) * a / q - v) / a;
  }
  assert.ok(Math.abs(grads[alpha.name].dataSync()[0] - want) < 1e-6, `${grads[alpha.name].dataSync()[0]} vs ${want}`);
  tf.dispose([dx, value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, alpha]);
});
