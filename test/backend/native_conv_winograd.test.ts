/**
 * DDTB_WINOGRAD=1: oneDNN's float32 Winograd F(4x4, 3x3) for the forward and input-gradient passes of
 * 3x3 stride-1 convs (oneDNN 2.6 has it for AVX-512 only; the filter gradient always stays direct,
 * native/conv.cc). Its error is measured here against the direct conv on the same inputs, per
 * element relative to sum|terms| (the conv of |x| and |w|), printed, and held to a bound:
 * Winograd's transforms add and subtract scaled copies of the inputs, so its error is a small
 * multiple of float32's epsilon times sum|terms|, more than the direct conv's summation error.
 * Where oneDNN has no Winograd (an AVX2 machine), the flag must change nothing beyond the direct
 * conv's summation order.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { assertWithinSummationBound, nativeSkip, seeded, withEnv } from './native_helpers';
import { nativeAddon, withPureJsKernels } from '../../lib/backend/native';
import { planConv } from '../../lib/backend/kernels/native_api';

const skip = nativeSkip();

/**
 * Winograd's largest |error| / sum|terms| allowed: 2^-18, 32 float32 epsilons (measured on an
 * AVX-512 EPYC: at most 8.2e-7, about 7 epsilons, over the cases below).
 */
const WINOGRAD_BOUND = 2 ** -18;

/** Runs `fn` with DDTB_WINOGRAD set to `value`. */
const withWinograd = <T>(value: '0' | '1', fn: () => T): T => withEnv('DDTB_WINOGRAD', value, fn);

/** max over elements of |a - b| / m (m > 0), as a number. */
function worstRelative(a: tf.Tensor, b: tf.Tensor, m: tf.Tensor): number {
  const av = a.dataSync(), bv = b.dataSync(), mv = m.dataSync();
  let worst = 0;
  for (let i = 0; i < av.length; i++) if (mv[i] > 0) worst = Math.max(worst, Math.abs(av[i] - bv[i]) / mv[i]);
  return worst;
}

const measured: string[] = [];
after(() => {
  if (measured.length) console.log(`# Winograd |error| / sum|terms| (largest element): ${measured.join(', ')}`);
});

interface Case { x: [number, number, number, number]; co: number }
// an EDSR body conv, the x2 upsampler conv (64 -> 256) and its input gradient (256 -> 64), odd
// sizes, and an SR head (3 inputs)
const cases: Case[] = [
  { x: [2, 20, 20, 64], co: 64 },
  { x: [1, 12, 12, 64], co: 256 },
  { x: [2, 9, 13, 64], co: 64 },
  { x: [2, 11, 10, 3], co: 64 },
];

describe('Winograd convs (DDTB_WINOGRAD=1): error against the direct conv', () => {
  cases.forEach((c, i) => {
    test(`x [${c.x}] 3x3 -> ${c.co}: forward and input gradient`, { skip }, () => tf.tidy(() => {
      const x = seeded(c.x, 500 + i, 0, 4), w = seeded([3, 3, c.x[3], c.co], 510 + i, -0.5, 0.5);
      const dy = seeded([c.x[0], c.x[1], c.x[2], c.co], 520 + i);
      const conv = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
      const fwd = () => tf.engine().runKernel('Conv2D', { x, filter: w }, conv as unknown as tf.NamedAttrMap) as tf.Tensor;
      const inAttrs = { ...conv, inputShape: c.x } as unknown as tf.NamedAttrMap;
      const bwd = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, inAttrs) as tf.Tensor;
      const impl = withWinograd('1', () => {
        const plan = planConv(c.x, w.shape, 1, 1, 'same', undefined, 'NHWC')!;
        return nativeAddon()!.convForwardLayouts(plan.xShape, plan.filterShape, plan.outShape, plan.conv).impl;
      });
      const magnitudes = [
        withPureJsKernels(() => tf.engine().runKernel('Conv2D', { x: tf.abs(x), filter: tf.abs(w) }, conv as unknown as tf.NamedAttrMap) as tf.Tensor),
        withPureJsKernels(() => tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.abs(dy), filter: tf.abs(w) }, inAttrs) as tf.Tensor),
      ];
      [fwd, bwd].forEach((run, k) => {
        const pass = k === 0 ? 'forward' : 'input gradient';
        const direct = withWinograd('0', run), wino = withWinograd('1', run);
        const terms = 9 * (k === 0 ? c.x[3] : c.co);
        if (impl.includes('wino')) {
          const worst = worstRelative(wino, direct, magnitudes[k]);
          measured.push(`${pass} [${c.x}] -> ${c.co} ${worst.toExponential(2)}`);
          assert.ok(worst <= WINOGRAD_BOUND, `${pass}: Winograd error ${worst} of sum|terms| exceeds ${WINOGRAD_BOUND}`);
          assert.ok(worst > 0, `${pass}: Winograd (${impl}) should differ from the direct conv somewhere`);
        } else {
          assertWithinSummationBound(wino, direct, magnitudes[k], terms, `${pass} without Winograd (${impl})`);
        }
      });
    }));
  });

  test('the filter gradient stays direct under DDTB_WINOGRAD=1 (the same bits as without)', { skip }, () => tf.tidy(() => {
    const x = seeded([2, 12, 12, 64], 530), dy = seeded([2, 12, 12, 64], 531);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, filterShape: [3, 3, 64, 64] } as unknown as tf.NamedAttrMap;
    const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
    const a = withWinograd('1', run).dataSync(), b = withWinograd('0', run).dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `element ${i}: ${a[i]} with the flag, ${b[i]} without`);
  }));
});
