/**
 * The native TorchSpatialMean (native/reduce.cc) against its composite (lib/quant/gate.ts, the host
 * loop of PyTorch's cascade sum): identical element by element over pixel counts that take every
 * branch of the cascade (under 8 pixels: scalar sums; 8-lane vectors with a scalar tail; enough
 * groups for several cascade levels), odd channel counts, batches, and values of mixed magnitude.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { globalAveragePool } from '../../lib/quant/gate';
import { TorchSpatialMean } from '../../lib/backend/kernels/torch_spatial_mean';
import { withPureJsKernels } from '../../lib/backend/native';
import { assertSameValues, countCalls, nativeSkip, seededValues } from './native_helpers';

const skip = nativeSkip();

describe('native TorchSpatialMean equals the composite bit for bit', () => {
  // pixels: 1, 7 (scalar), 8, 15 (one vector + tail), 12x13, 48x48 = 2304 (groups 72), 128x128 (groups 512,
  // several cascade levels), 181x181 = 32761 (levels and every tail)
  const shapes = [[1, 1, 1, 3], [2, 1, 7, 5], [1, 2, 4, 16], [3, 3, 5, 7], [2, 12, 13, 9], [4, 48, 48, 64], [1, 128, 128, 64], [1, 181, 181, 3]];
  for (const shape of shapes) {
    test(`x [${shape}]`, { skip }, () => tf.tidy(() => {
      const size = shape.reduce((a, b) => a * b, 1);
      const v = seededValues(size, 11, -3, 5);
      // mixed magnitudes, so that the summation order shows in the last bits
      for (let i = 0; i < size; i += 5) v[i] *= 1000;
      for (let i = 2; i < size; i += 9) v[i] *= 1e-4;
      const x = tf.tensor4d(v, shape as [number, number, number, number]);
      const native = countCalls(TorchSpatialMean, () => globalAveragePool(x));
      assert.strictEqual(native.native, 1, 'ran natively');
      assert.deepStrictEqual(native.result.shape, [shape[0], 1, 1, shape[3]]);
      assertSameValues(native.result, withPureJsKernels(() => globalAveragePool(x)), `[${shape}]`);
    }));
  }

  test('the result is the mean within float32 summation error, and tensor counts stay flat', { skip }, () => {
    const x = tf.tensor4d(seededValues(2 * 40 * 40 * 6, 12, 0, 1), [2, 40, 40, 6]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(globalAveragePool(x), tf.mean(x, [1, 2], true)))).dataSync()[0]);
      assert.ok(d < 1e-5, `|native - tf.mean| = ${d}`);
    }
    assert.strictEqual(tf.memory().numTensors, before);
    x.dispose();
  });
});
