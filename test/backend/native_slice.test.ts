/**
 * Native Slice and SplitV against the saved pure-JS kernels: strided slices must be copied
 * identically; contiguous ones stay with the original kernel (its zero-copy view).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { assertSameValues, bothWays, countCalls, nativeSkip, seeded } from './native_helpers';
import { withPureJsKernels } from '../../lib/backend/native';

const skip = nativeSkip();

const strided: [shape: number[], begin: number[], size: number[], what: string][] = [
  [[2, 7, 9, 64], [0, 0, 0, 16], [2, 7, 9, 32], 'a channel range (Concat gradient)'],
  [[2, 7, 9, 5], [0, 0, 0, 4], [2, 7, 9, 1], 'one channel'],
  [[4, 2, 1, 1], [0, 1, 0, 0], [4, 1, 1, 1], 'the second gate output per sample'],
  [[3, 13, 11, 6], [1, 2, 3, 0], [2, 9, 5, 6], 'a spatial crop'],
  [[3, 13, 11, 6], [1, 2, 3, 1], [-1, -1, -1, 4], 'size -1 to the end'],
  [[5, 6], [1, 2], [3, 3], '2-D'],
  [[16, 48, 48, 64], [0, 0, 0, 0], [16, 48, 48, 32], 'large (threaded)'],
];

describe('native Slice equals pure JS', () => {
  test(`float32: ${strided.length} strided slices`, { skip }, () => tf.tidy(() => {
    strided.forEach(([shape, begin, size, what], i) => {
      const x = seeded(shape, i + 1);
      const calls = countCalls('Slice', () => bothWays('Slice', { x }, { begin, size }));
      assert.strictEqual(calls.native, 1, `${what} ran natively`);
      assertSameValues(calls.result.native, calls.result.js, `slice [${shape}] at [${begin}] size [${size}] (${what})`);
    });
  }));

  test('int32 strided runs natively; contiguous and bool run the original kernel', { skip }, () => tf.tidy(() => {
    const xi = tf.tensor(Int32Array.from({ length: 60 }, (_, i) => i - 30), [3, 4, 5], 'int32');
    const ci = countCalls('Slice', () => bothWays('Slice', { x: xi }, { begin: [0, 1, 2], size: [3, 2, 3] }));
    assert.strictEqual(ci.native, 1);
    assertSameValues(ci.result.native, ci.result.js, 'int32 slice');
    const xf = seeded([4, 5, 6], 9);
    const cc = countCalls('Slice', () => bothWays('Slice', { x: xf }, { begin: [1, 0, 0], size: [2, 5, 6] }));
    assert.strictEqual(cc.fallback, 1, 'contiguous slice keeps the view');
    assertSameValues(cc.result.native, cc.result.js, 'contiguous slice');
    const xb = tf.tensor([1, 0, 0, 1, 1, 0], [2, 3], 'bool');
    const cb = countCalls('Slice', () => bothWays('Slice', { x: xb }, { begin: [0, 1], size: [2, 2] }));
    assert.strictEqual(cb.fallback, 1);
    assertSameValues(cb.result.native, cb.result.js, 'bool slice');
  }));

  test('SplitV: strided pieces through the native Slice, contiguous ones as views, same values', { skip }, () => tf.tidy(() => {
    const x = seeded([2, 5, 5, 7], 30);
    for (const [sizes, axis] of [[[3, 4], 3], [[1, 1], 0], [[2, -1], 1]] as const) {
      const calls = countCalls('SplitV', () => bothWays('SplitV', { x }, { numOrSizeSplits: [...sizes], axis }));
      assert.strictEqual(calls.native, 1);
      const run = () => tf.engine().runKernel('SplitV', { x }, { numOrSizeSplits: [...sizes], axis } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
      const native = run(), js = withPureJsKernels(run);
      assert.strictEqual(native.length, js.length);
      native.forEach((t, k) => assertSameValues(t, js[k], `split [${sizes}] on axis ${axis}, piece ${k}`));
    }
  }));

  test('the gradient of a channel concat, tensor counts flat', { skip }, () => {
    const a = seeded([2, 5, 5, 3], 20), b = seeded([2, 5, 5, 4], 21);
    const f = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.concat([p, q], 3)));
    const step = () => tf.tidy(() => tf.grads(f)([a, b]));
    const calls = countCalls('Slice', step);
    assert.strictEqual(calls.native, 2, 'both slices of the concat gradient ran natively');
    const g = calls.result;
    assertSameValues(g[0], tf.mul(a, 2), 'd/da');
    assertSameValues(g[1], tf.mul(b, 2), 'd/db');
    tf.dispose(g);
    const before = tf.memory().numTensors;
    tf.dispose(step());
    assert.strictEqual(tf.memory().numTensors, before);
    tf.dispose([a, b]);
  });
});
