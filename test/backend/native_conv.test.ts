/**
 * Native conv kernels (Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter) against the
 * saved pure-JS kernels on the same inputs, over odd sizes, several kernel sizes, channels, batches,
 * strides, dilations and paddings.
 *
 * Tolerance: float32 sums differ by summation order only, so each element must lie within
 * 2 * gamma(K) * sum|terms| of the JS value (K terms per output: KH*KW*CI forward, KH*KW*CO for
 * the input gradient, N*OH*OW for the filter gradient; see `assertWithinSummationBound`). An indexing
 * or layout error is off by about sum|terms| itself, thousands of times the bound.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  assertSameValues, assertWithinSummationBound, bothWays, countCalls, nativeSkip, seeded, seededValues, withEnv,
} from './native_helpers';
import { nativeAddon, withPureJsKernels } from '../../lib/backend/native';
import { convLayout, planConv } from '../../lib/backend/kernels/native_api';

const skip = nativeSkip();

/** Largest |native - JS| / bound per kernel, printed at the end (how close the bound came). */
const worst = new Map<string, number>();
function within(a: tf.Tensor, e: tf.Tensor, m: tf.Tensor, terms: number, what: string): void {
  worst.set(what, Math.max(worst.get(what) ?? 0, assertWithinSummationBound(a, e, m, terms, what)));
}
after(() => {
  if (worst.size) console.log(`# largest |native - JS| / bound: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface ConvCase {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  pad?: Pad;
}

const cases: ConvCase[] = [
  { x: [1, 7, 7, 3], k: [3, 3], co: 5 },
  { x: [2, 13, 13, 5], k: [5, 5], co: 3 },
  { x: [3, 7, 13, 64], k: [3, 3], co: 64 },
  { x: [1, 13, 13, 3], k: [9, 9], co: 5 },
  { x: [2, 9, 9, 16], k: [1, 1], co: 64 },
  { x: [2, 13, 11, 5], k: [3, 3], co: 4, strides: 2 },
  { x: [1, 12, 12, 3], k: [3, 3], co: 4, strides: 2, pad: 'valid' },
  { x: [2, 13, 13, 5], k: [3, 3], co: 4, pad: 'valid' },
  { x: [1, 13, 13, 5], k: [3, 3], co: 4, dilations: 2 },
  { x: [2, 8, 9, 3], k: [3, 5], co: 6, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
];

function name(c: ConvCase): string {
  const extra = [c.strides && `stride ${c.strides}`, c.dilations && `dilation ${c.dilations}`,
    c.pad && `pad ${JSON.stringify(c.pad)}`].filter(Boolean).join(', ');
  return `x [${c.x}] filter ${c.k[0]}x${c.k[1]}x${c.x[3]}x${c.co}${extra ? `, ${extra}` : ''}`;
}

function attrsOf(c: ConvCase) {
  return { strides: c.strides ?? 1, pad: c.pad ?? 'same', dataFormat: 'NHWC', dilations: c.dilations ?? 1 };
}

/**
 * The magnitudes for the summation bound: `kernel` in pure JS on |inputs| (a fused kernel without its
 * activation, which only clamps).
 */
function magnitudes(kernel: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  const abs: tf.NamedTensorMap = {};
  for (const [k, v] of Object.entries(inputs)) abs[k] = tf.abs(v);
  const linear = kernel === 'FusedConv2D' ? { ...attrs, activation: 'linear' } : attrs;
  return withPureJsKernels(() => tf.engine().runKernel(kernel, abs, linear as unknown as tf.NamedAttrMap) as tf.Tensor);
}

describe('native Conv2D and FusedConv2D against pure JS', () => {
  cases.forEach((c, i) => {
    test(name(c), { skip }, () => tf.tidy(() => {
      const x = seeded(c.x, 10 + i), w = seeded([c.k[0], c.k[1], c.x[3], c.co], 20 + i, -0.5, 0.5);
      const attrs = attrsOf(c);
      const calls = countCalls('Conv2D', () => bothWays('Conv2D', { x, filter: w }, attrs));
      assert.strictEqual(calls.native, 1, 'Conv2D ran natively');
      const mag = magnitudes('Conv2D', { x, filter: w }, attrs);
      const terms = c.k[0] * c.k[1] * c.x[3];
      within(calls.result.native, calls.result.js, mag, terms, 'Conv2D');
    }));
  });

  for (const activation of ['linear', 'relu'] as const) {
    for (const withBias of [false, true]) {
      test(`FusedConv2D ${activation}${withBias ? ' + bias' : ''}, x [3,13,7,5] 3x3 -> 64 and x [2,7,7,64] 5x5 -> 3`,
        { skip }, () => tf.tidy(() => {
          for (const [xs, k, co, seed] of [[[3, 13, 7, 5], 3, 64, 1], [[2, 7, 7, 64], 5, 3, 2]] as const) {
            const x = seeded([...xs], 30 + seed), w = seeded([k, k, xs[3], co], 40 + seed, -0.3, 0.3);
            const bias = seeded([co], 50 + seed);
            const attrs = { ...attrsOf({ x: [...xs] as ConvCase['x'], k: [k, k], co }), activation, dimRoundingMode: undefined };
            const inputs: tf.NamedTensorMap = withBias ? { x, filter: w, bias } : { x, filter: w };
            const calls = countCalls('FusedConv2D', () => bothWays('FusedConv2D', inputs, attrs));
            assert.strictEqual(calls.native, 1, 'FusedConv2D ran natively');
            const mag = magnitudes('FusedConv2D', inputs, attrs);
            within(calls.result.native, calls.result.js, mag, k * k * xs[3] + 1, 'FusedConv2D');
            if (activation === 'relu') assert.ok(calls.result.native.min().dataSync()[0] >= 0, 'relu output >= 0');
          }
        }));
    }
  }
});

/**
 * Conv2DBackpropInput and Conv2DBackpropFilter of case `c` natively and in pure JS, each within the
 * summation bound (K = KH*KW*CO terms for the input gradient, N*OH*OW for the filter gradient).
 */
function checkGradients(c: ConvCase, x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor): void {
  const attrs = attrsOf(c);
  const inAttrs = { ...attrs, inputShape: c.x };
  const dx = countCalls('Conv2DBackpropInput', () => bothWays('Conv2DBackpropInput', { dy, filter: w }, inAttrs));
  assert.strictEqual(dx.native, 1, 'Conv2DBackpropInput ran natively');
  const dxMag = magnitudes('Conv2DBackpropInput', { dy, filter: w }, inAttrs);
  within(dx.result.native, dx.result.js, dxMag, c.k[0] * c.k[1] * c.co, 'Conv2DBackpropInput');

  const fAttrs = { ...attrs, filterShape: w.shape };
  const dw = countCalls('Conv2DBackpropFilter', () => bothWays('Conv2DBackpropFilter', { x, dy }, fAttrs));
  assert.strictEqual(dw.native, 1, 'Conv2DBackpropFilter ran natively');
  const dwMag = magnitudes('Conv2DBackpropFilter', { x, dy }, fAttrs);
  within(dw.result.native, dw.result.js, dwMag, dy.shape.slice(0, 3).reduce((p, q) => p * q, 1), 'Conv2DBackpropFilter');
}

/** The gradient cases: as `cases`, with the 64-channel one at batch 1 (the JS gradient kernels are slow). */
const gradientCases: ConvCase[] = cases.map((c) => (c.x[3] === 64 ? { ...c, x: [1, 7, 13, 64], co: 32 } : c));

describe('native conv gradients against pure JS', () => {
  gradientCases.filter((c) => !c.dilations).forEach((c, i) => {  // tfjs has no dilated conv gradients
    test(`Conv2DBackpropInput and Conv2DBackpropFilter, ${name(c)}`, { skip }, () => tf.tidy(() => {
      const x = seeded(c.x, 60 + i), w = seeded([c.k[0], c.k[1], c.x[3], c.co], 70 + i, -0.5, 0.5);
      const attrs = attrsOf(c);
      const y = tf.engine().runKernel('Conv2D', { x, filter: w }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dy = seeded(y.shape, 80 + i);
      checkGradients(c, x, w, dy);
    }));
  });

  test('tf.grads of a fused conv (bias, relu) -> conv -> sum of squares: same gradients as pure JS', { skip }, () =>
    tf.tidy(() => {
      const x = seeded([2, 9, 11, 5], 90), w1 = seeded([3, 3, 5, 16], 91, -0.4, 0.4);
      const b1 = seeded([16], 92, -0.1, 0.1), w2 = seeded([3, 3, 16, 3], 93, -0.4, 0.4);
      const f = (xx: tf.Tensor, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const h = tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: a as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' });
        return tf.sum(tf.square(tf.conv2d(h, c as tf.Tensor4D, 1, 'same')));
      };
      const g = tf.grads(f);
      const native = g([x, w1, b1, w2]);
      const js = withPureJsKernels(() => g([x, w1, b1, w2]));
      // end to end, errors compound through two layers and the loss: compare by relative norm
      native.forEach((gn, k) => {
        const rel = tf.norm(tf.sub(gn, js[k])).dataSync()[0] / tf.norm(js[k]).dataSync()[0];
        assert.ok(rel < 1e-5, `gradient ${k}: relative difference ${rel}`);
      });
    }));
});

/** Runs `fn` with DDTB_CONV_LAYOUT set to `value` (unset for undefined), restoring it afterwards. */
const withConvLayout = <T>(value: string | undefined, fn: () => T): T => withEnv('DDTB_CONV_LAYOUT', value, fn);

describe('conv activation layouts (auto by default: blocked with reorders on AVX2, NHWC in place on AVX-512)', () => {
  test('DDTB_CONV_LAYOUT: auto by default, blocked or nhwc on request, anything else a clear error', () => {
    assert.strictEqual(withConvLayout(undefined, convLayout), 2);
    assert.strictEqual(withConvLayout('auto', convLayout), 2);
    assert.strictEqual(withConvLayout('blocked', convLayout), 1);
    assert.strictEqual(withConvLayout('nhwc', convLayout), 0);
    assert.throws(() => withConvLayout('NCHW', convLayout),
      /DDTB_CONV_LAYOUT must be 'auto' \(the default\), 'blocked' or 'nhwc', got 'NCHW'/);
  });

  test('the forward conv of an EDSR body: auto follows oneDNN\'s instruction set, blocked and nhwc as asked',
    { skip }, () => {
      const addon = nativeAddon()!;
      const layouts = (value: string | undefined) => withConvLayout(value, () => {
        const plan = planConv([2, 12, 12, 64], [3, 3, 64, 64], 1, 1, 'same', undefined, 'NHWC')!;
        return addon.convForwardLayouts(plan.xShape, plan.filterShape, plan.outShape, plan.conv);
      });
      const isa = addon.info().isa;
      const auto = layouts(undefined), blocked = layouts('blocked'), nhwc = layouts('nhwc');
      const expected = isa.startsWith('avx512') ? 'nhwc' : 'blocked';
      assert.deepStrictEqual([auto.src, auto.dst], [expected, expected], `auto on ${isa}: ${JSON.stringify(auto)}`);
      assert.deepStrictEqual([blocked.src, blocked.dst], ['blocked', 'blocked'], `blocked: ${JSON.stringify(blocked)}`);
      assert.deepStrictEqual([nhwc.src, nhwc.dst], ['nhwc', 'nhwc'], `nhwc: ${JSON.stringify(nhwc)}`);
    });

  // channel counts off the 8/16 blocks (padded inside oneDNN), a 64 -> 3 tail whose input gradient
  // stays NHWC, a strided conv and a 1x1
  const layoutCases: ConvCase[] = [
    { x: [2, 11, 13, 12], k: [3, 3], co: 20 },
    { x: [1, 17, 9, 64], k: [3, 3], co: 3 },
    { x: [2, 9, 9, 5], k: [3, 3], co: 24, strides: 2 },
    { x: [1, 7, 7, 40], k: [1, 1], co: 16 },
  ];
  // few outputs on channels in 8s: the forward pass of conv_narrow.cc (borders, widths under a
  // pixel block, a 9x9 SRResNet tail, a 1x1)
  const narrowCases: Array<[ConvCase, 'linear' | 'relu', boolean]> = [
    [{ x: [2, 13, 29, 64], k: [3, 3], co: 3 }, 'linear', true],
    [{ x: [1, 5, 2, 8], k: [3, 3], co: 1 }, 'relu', true],
    [{ x: [1, 17, 19, 16], k: [9, 9], co: 3 }, 'linear', false],
    [{ x: [3, 6, 31, 24], k: [1, 1], co: 2 }, 'relu', false],
    [{ x: [1, 9, 14, 32], k: [5, 3], co: 4 }, 'relu', true],
  ];
  narrowCases.forEach(([c, activation, withBias], i) => {
    test(`narrow forward: ${name(c)}, ${activation}${withBias ? ' + bias' : ''}`, { skip }, () => tf.tidy(() => {
      const x = seeded(c.x, 170 + i), w = seeded([c.k[0], c.k[1], c.x[3], c.co], 180 + i, -0.5, 0.5);
      const bias = seeded([c.co], 190 + i);
      const attrs = { ...attrsOf(c), activation, dimRoundingMode: undefined };
      const inputs: tf.NamedTensorMap = withBias ? { x, filter: w, bias } : { x, filter: w };
      const calls = countCalls('FusedConv2D', () => bothWays('FusedConv2D', inputs, attrs));
      assert.strictEqual(calls.native, 1, 'FusedConv2D ran natively');
      const mag = magnitudes('FusedConv2D', inputs, attrs);
      within(calls.result.native, calls.result.js, mag, c.k[0] * c.k[1] * c.x[3] + 1, 'FusedConv2D');
      const onednn = withConvLayout('nhwc', () => tf.engine().runKernel('FusedConv2D', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
      within(onednn, calls.result.js, mag, c.k[0] * c.k[1] * c.x[3] + 1, 'FusedConv2D');
      if (activation === 'relu') assert.ok(calls.result.native.min().dataSync()[0] >= 0, 'relu output >= 0');
    }));
  });

  test('narrow forward keeps NaN through the ReLU and gives +0 for negative sums, as Math.max(0, v)', { skip }, () => tf.tidy(() => {
    const xv = seededValues(1 * 3 * 4 * 8, 200);
    xv[0] = NaN;  // reaches the outputs whose taps cover pixel (0, 0)
    const x = tf.tensor4d(xv, [1, 3, 4, 8]);
    const w = tf.fill([3, 3, 8, 3], -1) as tf.Tensor4D;
    const attrs = { ...attrsOf({ x: [1, 3, 4, 8], k: [3, 3], co: 3 }), activation: 'relu', dimRoundingMode: undefined };
    const { native, js } = bothWays('FusedConv2D', { x: tf.abs(x), filter: w }, attrs);
    const a = native.dataSync(), e = js.dataSync();
    let nans = 0;
    for (let k = 0; k < e.length; k++) {
      if (Number.isNaN(e[k])) { nans++; assert.ok(Number.isNaN(a[k]), `element ${k}: NaN expected, got ${a[k]}`); }
      else assert.ok(Object.is(a[k], e[k]), `element ${k}: ${a[k]}, pure JS gives ${e[k]}`);
    }
    assert.ok(nans > 0 && nans < e.length, `some but not all outputs NaN (${nans} of ${e.length})`);
  }));

  // the addon's own filter gradient (conv_filter_grad.cc): outputs in 16s on AVX-512 (channels off
  // the 6-row tiles, 80 outputs = a block of 64 and one of 16, 5x5, 1x1, valid and uneven padding),
  // 1-4 outputs on channels in 8s (AVX-512 tiles for channels in 16s, else AVX2), two large enough to
  // run on two threads; a strided conv stays with oneDNN
  const filterGradCases: ConvCase[] = [
    { x: [2, 11, 13, 12], k: [3, 3], co: 32 },
    { x: [1, 9, 7, 5], k: [5, 5], co: 80 },
    { x: [3, 6, 5, 64], k: [1, 1], co: 16 },
    { x: [2, 10, 9, 16], k: [3, 3], co: 48, pad: 'valid' },
    { x: [2, 8, 9, 3], k: [3, 5], co: 16, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
    { x: [4, 24, 24, 32], k: [3, 3], co: 32 },
    { x: [2, 13, 29, 64], k: [3, 3], co: 3 },
    { x: [1, 5, 2, 8], k: [3, 3], co: 1 },
    { x: [1, 17, 19, 24], k: [9, 9], co: 4 },
    { x: [3, 6, 31, 40], k: [1, 1], co: 2 },
    { x: [2, 40, 40, 64], k: [3, 3], co: 3 },
    { x: [2, 9, 9, 16], k: [3, 3], co: 16, strides: 2 },
  ];
  /** What should run the filter gradient of `c` on oneDNN's instruction set `isa` (null: oneDNN). */
  const expectedFilterGrad = (c: ConvCase, isa: string): string | null => {
    const avx512 = isa.startsWith('avx512'), avx2 = avx512 || isa.startsWith('avx2');
    if (c.strides || c.dilations || !avx2) return null;
    const ci = c.x[3];
    if (c.co <= 4 && ci % 8 === 0) return `conv_filter_grad:${avx512 && ci % 16 === 0 ? 'avx512' : 'avx2'}`;
    return avx512 && c.co % 16 === 0 ? 'conv_filter_grad:avx512' : null;
  };
  filterGradCases.forEach((c, i) => {
    test(`filter gradient (own kernel where it applies): ${name(c)}`, { skip }, () => tf.tidy(() => {
      const addon = nativeAddon()!;
      const isa = addon.info().isa;
      const planned = () => planConv(c.x, [c.k[0], c.k[1], c.x[3], c.co], c.strides ?? 1, 1, c.pad ?? 'same', undefined, 'NHWC')!;
      const impl = (value: string | undefined) => withConvLayout(value, () => {
        const p = planned();  // the plan carries the layout in force
        return addon.convFilterGradImpl(p.xShape, p.filterShape, p.outShape, p.conv);
      });
      const plan = planned();
      const expected = expectedFilterGrad(c, isa);
      for (const value of [undefined, 'blocked']) {
        const got = impl(value);
        if (expected) assert.strictEqual(got, expected, `DDTB_CONV_LAYOUT=${value ?? '(auto)'} on ${isa}`);
        else assert.ok(!got.startsWith('conv_filter_grad'), `oneDNN expected on ${isa}, got ${got}`);
      }
      assert.ok(!impl('nhwc').startsWith('conv_filter_grad'), 'DDTB_CONV_LAYOUT=nhwc runs oneDNN alone');

      const x = seeded(c.x, 210 + i), w = seeded([c.k[0], c.k[1], c.x[3], c.co], 230 + i, -0.5, 0.5);
      const dy = seeded(plan.outShape, 250 + i);
      checkGradients(c, x, w, dy);
      // and within the same bound of oneDNN's own result
      const fAttrs = { ...attrsOf(c), filterShape: w.shape } as unknown as tf.NamedAttrMap;
      const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, fAttrs) as tf.Tensor;
      const onednn = withConvLayout('nhwc', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, fAttrs) as tf.Tensor);
      within(ours, onednn, magnitudes('Conv2DBackpropFilter', { x, dy }, fAttrs), plan.outShape[0] * plan.outShape[1] * plan.outShape[2],
        'Conv2DBackpropFilter vs oneDNN');
    }));
  });

  for (const value of ['auto', 'blocked', 'nhwc']) {
    layoutCases.forEach((c, i) => {
      test(`${value}: all three passes within the bound of pure JS, ${name(c)}`, { skip }, () => withConvLayout(value, () =>
        tf.tidy(() => {
          const x = seeded(c.x, 140 + i), w = seeded([c.k[0], c.k[1], c.x[3], c.co], 150 + i, -0.5, 0.5);
          const attrs = attrsOf(c);
          const y = countCalls('Conv2D', () => bothWays('Conv2D', { x, filter: w }, attrs));
          assert.strictEqual(y.native, 1, 'Conv2D ran natively');
          const yMag = magnitudes('Conv2D', { x, filter: w }, attrs);
          within(y.result.native, y.result.js, yMag, c.k[0] * c.k[1] * c.x[3], 'Conv2D');

          const dy = seeded(y.result.js.shape, 160 + i);
          checkGradients(c, x, w, dy);
        })));
    });
  }
});

describe('conv cases the addon hands to the pure-JS kernel', () => {
  test('NCHW Conv2D runs the original kernel and gives its result', { skip }, () => tf.tidy(() => {
    const x = seeded([2, 5, 9, 9], 100), w = seeded([3, 3, 5, 4], 101);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', dilations: 1 };
    const calls = countCalls('Conv2D', () => bothWays('Conv2D', { x, filter: w }, attrs));
    assert.strictEqual(calls.native, 0);
    assert.strictEqual(calls.fallback, 1);
    assertSameValues(calls.result.native, calls.result.js, 'NCHW Conv2D');
  }));

  test('FusedConv2D with leakyrelu or prelu runs the original kernel', { skip }, () => tf.tidy(() => {
    const x = seeded([1, 7, 7, 3], 110), w = seeded([3, 3, 3, 4], 111), bias = seeded([4], 112);
    for (const activation of ['leakyrelu', 'prelu'] as const) {
      const inputs: tf.NamedTensorMap = activation === 'prelu'
        ? { x, filter: w, bias, preluActivationWeights: tf.fill([4], 0.25) } : { x, filter: w, bias };
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation, leakyreluAlpha: 0.2 };
      const calls = countCalls('FusedConv2D', () => bothWays('FusedConv2D', inputs, attrs));
      assert.strictEqual(calls.fallback, 1, `${activation} fell back`);
      assertSameValues(calls.result.native, calls.result.js, `FusedConv2D ${activation}`);
    }
  }));

  test('explicit padding with ceil rounding that oneDNN cannot express runs the original kernel', { skip }, () =>
    tf.tidy(() => {
      // H = 8, pad 1+1, 3x3, stride 2, ceil: tfjs gives OH = 5 where oneDNN's rule gives 4
      const x = seeded([1, 8, 8, 3], 120), w = seeded([3, 3, 3, 2], 121);
      const attrs = { strides: 2, pad: 1, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: 'ceil' };
      const calls = countCalls('Conv2D', () => bothWays('Conv2D', { x, filter: w }, attrs));
      if (calls.native === 1) {
        // tfjs agreed with oneDNN's size rule after all: then the results must agree too
        assert.deepStrictEqual(calls.result.native.shape, calls.result.js.shape);
      } else {
        assert.strictEqual(calls.fallback, 1);
        assertSameValues(calls.result.native, calls.result.js, 'ceil-rounded Conv2D');
      }
    }));
});

describe('native conv kernels keep tensor counts flat', () => {
  test('forward, fused forward and both gradients, twice', { skip }, () => {
    const x = seeded([2, 7, 7, 8], 130), w = seeded([3, 3, 8, 8], 131), b = seeded([8], 132);
    const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(
      tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 1, pad: 'same', bias: bb, activation: 'relu' })))(
      [x, w, b]).forEach((t) => t.dispose()));
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    assert.strictEqual(tf.memory().numTensors, before);
    tf.dispose([x, w, b]);
  });
});
