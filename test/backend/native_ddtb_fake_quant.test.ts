/**
 * The fused native DDTB fake-quant kernels (native/fake_quant.cc) against their composite
 * implementation (lib/quant/ddtb_act.ts, run through withPureJsKernels): forward outputs and all
 * three gradients [dx, du, dl] must be identical element by element (Object.is), on the official
 * fixtures' inputs and bounds and on random tensors with exact ties, post-ReLU zeros with l = 0,
 * per-sample and mixed bounds, odd shapes, both sides of the addon's threading threshold, and IEEE
 * special values.
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ddtbFakeQuant } from '../../lib/quant/ddtb_act';
import { DdtbFakeQuant, DdtbFakeQuantGrad } from '../../lib/backend/kernels/ddtb_fake_quant';
import { withPureJsKernels } from '../../lib/backend/native';
import { activation, fixtureFiles, fixtureName, readFixture, scalarOf, tensorOf } from '../golden/ddtb_fixture';
import { assertSameValues, countCalls, nativeSkip, seededValues } from './native_helpers';

const skip = nativeSkip();

interface Case {
  readonly x: tf.Tensor;
  readonly upper: tf.Tensor;
  readonly lower: tf.Tensor;
  readonly dy: tf.Tensor;
  readonly bits: number;
}

/** Forward and backward kernels, natively and with the composite; asserts bit-identical results. */
function checkBothWays(c: Case, what: string): void {
  tf.tidy(() => {
    const attrs = { bits: c.bits };
    const forward = () => tf.engine().runKernel(DdtbFakeQuant, { x: c.x, upper: c.upper, lower: c.lower }, attrs) as tf.Tensor;
    const fw = countCalls(DdtbFakeQuant, forward);
    assert.strictEqual(fw.native, 1, `${what}: the forward ran natively`);
    const output = fw.result;
    const pure = countCalls(DdtbFakeQuant, () => withPureJsKernels(forward));
    assert.deepStrictEqual([pure.native, pure.fallback], [0, 0], `${what}: withPureJsKernels ran the composite itself`);
    assertSameValues(output, pure.result, `${what}: forward`);
    const backward = () => tf.engine().runKernel(DdtbFakeQuantGrad,
      { dy: c.dy, x: c.x, upper: c.upper, lower: c.lower, output }, attrs) as tf.Tensor[];
    const bw = countCalls(DdtbFakeQuantGrad, backward);
    assert.strictEqual(bw.native, 1, `${what}: the backward ran natively`);
    const composite = withPureJsKernels(backward);
    ['dx', 'du', 'dl'].forEach((name, i) => assertSameValues(bw.result[i], composite[i], `${what}: ${name}`));
  });
}

/** x [n,h,w,ch] with values in (-4, 4), a share of them set exactly to the bounds. */
function tiedInput(shape: number[], seed: number, upper: ArrayLike<number>, lower: ArrayLike<number>): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const v = seededValues(size, seed, -4, 4);
  const per = size / shape[0];
  for (let i = 0; i < size; i += 5) {
    const s = Math.floor(i / per);
    v[i] = (i / 5) % 2 === 0 ? upper[upper.length === 1 ? 0 : s] : lower[lower.length === 1 ? 0 : s];
  }
  return tf.tensor(v, shape, 'float32');
}

function bound(values: number[], perSample: boolean): tf.Tensor {
  return perSample ? tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]) : tf.tensor1d(Float32Array.from(values));
}

describe('native DDTB fake quant equals the composite bit for bit', () => {
  const shapes: number[][] = [[3, 5, 7, 11], [1, 1, 1, 1], [2, 9, 13, 3], [16, 12, 12, 64], [4, 33, 17, 5]];
  for (const shape of shapes) {
    test(`random x [${shape}] with exact ties, scalar / per-sample / mixed bounds, k = 2, 3, 4, 8`, { skip }, () => {
      const n = shape[0];
      const uPer = Array.from(seededValues(n, 11, 0.5, 3));
      const lPer = Array.from(seededValues(n, 12, -3, -0.2));
      const layouts: Array<[string, number[], boolean, number[], boolean]> = [
        ['scalar', [2.3], false, [-1.7], false],
        ['per-sample', uPer, true, lPer, true],
        ['per-sample upper, scalar lower', uPer, true, [-1.1], false],
        ['scalar upper, per-sample lower', [1.9], false, lPer, true],
      ];
      layouts.forEach(([name, u, uPs, l, lPs], k) => {
        for (const bits of [2, 3, 4, 8]) {
          tf.tidy(() => {
            const upper = bound(u, uPs), lower = bound(l, lPs);
            const x = tiedInput(shape, 100 + k * 10 + bits, u, l);
            const dy = tf.tensor(seededValues(x.size, 200 + k + bits, -2, 2), shape);
            checkBothWays({ x, upper, lower, dy, bits }, `[${shape}] ${name} k=${bits}`);
          });
        }
      });
    });
  }

  test('post-ReLU input with l = 0: exact zeros tie with the lower bound', { skip }, () => tf.tidy(() => {
    const x = tf.relu(tf.tensor(seededValues(16 * 12 * 12 * 8, 5, -3, 5), [16, 12, 12, 8]));
    const dy = tf.tensor(seededValues(x.size, 6, -1, 1), x.shape);
    const zeros = Array.from(x.dataSync()).filter((v) => v === 0).length;
    assert.ok(zeros > x.size / 4, `many exact zeros (${zeros})`);
    for (const [upper, lower] of [[tf.tensor1d([3.5]), tf.tensor1d([0])], [bound(Array.from(seededValues(16, 7, 1, 4)), true), tf.zeros([16, 1, 1, 1])]]) {
      checkBothWays({ x, upper, lower, dy, bits: 2 }, `post-ReLU, l = 0, upper [${upper.shape}]`);
    }
  }));

  test('any rank with single bounds of any size-1 shape, and a scalar x', { skip }, () => tf.tidy(() => {
    const cases: Array<[number[], number[]]> = [[[37], []], [[6, 7], [1]], [[5, 4, 3], [1, 1, 1]], [[2, 3, 4, 5, 2], [1]], [[], []]];
    cases.forEach(([xs, bs], i) => {
      const size = xs.reduce((a, b) => a * b, 1);
      const x = tf.tensor(seededValues(size, 40 + i, -3, 3), xs);
      const dy = tf.tensor(seededValues(size, 50 + i, -1, 1), xs);
      checkBothWays({ x, upper: tf.fill(bs, 1.25), lower: tf.fill(bs, -0.75), dy, bits: 3 }, `x [${xs}], bounds [${bs}]`);
    });
  }));

  test('NaN, infinities, signed zeros and huge values in x and dy', { skip }, () => tf.tidy(() => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38, 2, -1, 1e7];
    const xv = seededValues(2 * 4 * 4 * 6, 9, -3, 3), gv = seededValues(xv.length, 10, -1, 1);
    for (let i = 0; i < xv.length; i += 3) xv[i] = special[(i / 3) % special.length];
    for (let i = 1; i < gv.length; i += 7) gv[i] = special[(i + 3) % special.length];
    const x = tf.tensor(xv, [2, 4, 4, 6]), dy = tf.tensor(gv, [2, 4, 4, 6]);
    checkBothWays({ x, upper: tf.tensor1d([2]), lower: tf.tensor1d([-1]), dy, bits: 2 }, 'special values, scalar bounds');
    checkBothWays({ x, upper: tf.tensor4d([2, 0], [2, 1, 1, 1]), lower: tf.tensor4d([-1, -0], [2, 1, 1, 1]), dy, bits: 2 }, 'special values, per-sample bounds with zeros');
  }));

  test('empty tensors: native with single bounds (zero bound gradients), the composite for an empty batch', { skip }, () => tf.tidy(() => {
    const x = tf.zeros([0, 3, 3, 4]);
    checkBothWays({ x, upper: tf.tensor1d([1]), lower: tf.tensor1d([-1]), dy: tf.zeros([0, 3, 3, 4]), bits: 2 }, 'empty x');
    const upper = tf.zeros([0, 1, 1, 1]), lower = tf.zeros([0, 1, 1, 1]);
    const calls = countCalls(DdtbFakeQuant, () => tf.engine().runKernel(DdtbFakeQuant, { x, upper, lower }, { bits: 2 }) as tf.Tensor);
    assert.deepStrictEqual([calls.native, calls.fallback, calls.result.size], [0, 1, 0]);
  }));

  test('layouts the addon does not cover run the composite', { skip }, () => tf.tidy(() => {
    const x = tf.tensor(seededValues(2 * 3 * 3 * 4, 1, -2, 2), [2, 3, 3, 4]);
    // per-channel bounds: not a layout the quantizer accepts, but the kernel contract broadcasts them
    const upper = tf.tensor4d([1, 1.5, 2, 2.5], [1, 1, 1, 4]), lower = tf.fill([1, 1, 1, 4], -1);
    const calls = countCalls(DdtbFakeQuant, () => tf.engine().runKernel(DdtbFakeQuant, { x, upper, lower }, { bits: 2 }) as tf.Tensor);
    assert.deepStrictEqual([calls.native, calls.fallback], [0, 1]);
    assertSameValues(calls.result, withPureJsKernels(() => tf.engine().runKernel(DdtbFakeQuant, { x, upper, lower }, { bits: 2 }) as tf.Tensor), 'fallback');
  }));

  test('tf.grads through ddtbFakeQuant: native and pure JS agree; tensor counts stay flat', { skip }, () => {
    const x = tf.tensor(seededValues(8 * 6 * 6 * 16, 3, -3, 3), [8, 6, 6, 16]);
    const u = tf.tensor4d(seededValues(8, 4, 1, 3), [8, 1, 1, 1]), l = tf.tensor1d([-1.25]);
    const g = tf.tensor(seededValues(x.size, 5, -1, 1), x.shape);
    const grads = () => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(g, ddtbFakeQuant(a, b, c, 2))))([x, u, l]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const native = grads();
      const js = withPureJsKernels(grads);
      native.forEach((t, k) => assertSameValues(t, js[k], `gradient ${k}`));
      tf.dispose([...native, ...js]);
      assert.strictEqual(tf.memory().numTensors, before, `round ${i}: no tensors left behind`);
    }
    tf.dispose([x, u, l, g]);
  });
});

/** Bounds of a fixture case as the quantizer uses them: static u, l or the per-sample ones. */
function fixtureBounds(fx: ReturnType<typeof readFixture>): { upper: tf.Tensor; lower: tf.Tensor } {
  const name = fixtureName(fx);
  if (name.startsWith('calib')) return { upper: tf.tensor1d([scalarOf<number>(fx, 'u_after')]), lower: tf.tensor1d([scalarOf<number>(fx, 'l_after')]) };
  if (name.startsWith('quant_dynamic') && scalarOf<boolean>(fx, 'dynamic_bounds_used')) {
    const per = (key: string) => {
      const t = tensorOf(fx, key);
      return tf.tensor4d(Float32Array.from(t.data), [t.data.length, 1, 1, 1]);
    };
    return { upper: per('u_per_sample'), lower: per('l_per_sample') };
  }
  return { upper: tf.tensor1d([scalarOf<number>(fx, 'u')]), lower: tf.tensor1d([scalarOf<number>(fx, 'l')]) };
}

describe('native DDTB fake quant equals the composite on the official fixtures', () => {
  const files = fixtureFiles().filter((f) => /^(quant_static|quant_dynamic|calib)/.test(path.basename(f)));
  test('the fixture folder has the activation-quantizer cases', () => assert.ok(files.length >= 30, `${files.length} files`));
  for (const file of files) {
    test(path.basename(file), { skip }, () => tf.tidy(() => {
      const fx = readFixture(file);
      const { upper, lower } = fixtureBounds(fx);
      const x = activation(fx, 'x');
      checkBothWays({ x, upper, lower, dy: activation(fx, 'g'), bits: scalarOf(fx, 'k_bits') }, fixtureName(fx));
      if (fx.dtype === 'f32') {
        // and the official float32 output itself, exactly
        const q = ddtbFakeQuant(x, upper, lower, scalarOf(fx, 'k_bits'));
        const want = activation(fx, 'q');
        assertSameValues(q, want, `${fixtureName(fx)}: q against the official float32 run`);
      }
    }));
  }
});
