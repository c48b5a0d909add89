import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Prng } from '../../lib/data/prng';
import { DdtbActQuantizer, ddtbFakeQuant, ddtbQuantParts, DDTB_INITIAL_UPPER } from '../../lib/quant/ddtb_act';
import { officialGate } from '../../lib/quant/gate';
import { percentiles } from '../../lib/quant/observer';
import { gateLogitRegularizer } from '../../lib/train/losses';

ensureBackend();
const f = Math.fround;

function randomInput(shape: [number, number, number, number], seed: number, scale = 1.5, shift = 0.3): tf.Tensor4D {
  const rng = Prng.fromSeed(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, () => (rng.nextFloat() - shift) * 2 * scale), shape);
}

function grads(fn: () => tf.Scalar, vars: tf.Variable[]): { value: number; grads: Map<tf.Variable, Float32Array> } {
  const r = tf.variableGrads(fn, vars);
  const out = new Map<tf.Variable, Float32Array>();
  for (const v of vars) if (r.grads[v.name]) out.set(v, r.grads[v.name].dataSync() as Float32Array);
  const value = r.value.dataSync()[0];
  tf.dispose([r.value, ...Object.values(r.grads)]);
  return { value, grads: out };
}

test('the spec hand example: k = 2, l = -1.7, u = 2.3 gives s = 0.75, z = 1, levels {-4/3, 0, 4/3, 8/3}', () => tf.tidy(() => {
  const x = tf.tensor1d([-5, -1.7, -1, 0, 0.7, 2, 2.3, 10]);
  const p = ddtbQuantParts(x, tf.scalar(2.3), tf.scalar(-1.7), 2);
  assert.equal(p.scale.dataSync()[0], 0.75);
  assert.equal(p.zeroPoint.dataSync()[0], 1);
  // x = 2: s*c - z = 0.5 exactly; round half to even gives 0, the level 4/3 (half up would give 8/3).
  assert.deepEqual(Array.from(p.code.dataSync(), (v) => v + 0), [-2, -2, -2, -1, 0, 0, 1, 1]);
  const levels = [-4 / 3, -4 / 3, -4 / 3, 0, 4 / 3, 4 / 3, 8 / 3, 8 / 3];
  p.output.dataSync().forEach((v, i) => assert.ok(Math.abs(v - levels[i]) < 1e-6, `element ${i}: ${v} vs ${levels[i]}`));
  const distinct = new Set(Array.from(ddtbFakeQuant(tf.linspace(-4, 4, 401), tf.scalar(2.3), tf.scalar(-1.7), 2).dataSync(), (v) => v.toFixed(4)));
  assert.deepEqual([...distinct].sort(), ['-1.3333', '0.0000', '1.3333', '2.6667'].sort(), 'exactly 2^k levels, zero-aligned, overshooting [l, u]');
}));

test('the literal formula differs from round(s*c)/s on .5 ties with an odd zero point', () => tf.tidy(() => {
  // u = 0.5, l = -0.25, k = 2: s = 4, z = round(-1) + 2 = 1 (odd). c = 0.125: s*c = 0.5.
  const p = ddtbQuantParts(tf.tensor1d([0.125, 0.375]), tf.scalar(0.5), tf.scalar(-0.25), 2);
  assert.equal(p.scale.dataSync()[0], 4);
  assert.equal(p.zeroPoint.dataSync()[0], 1);
  // round(0.5 - 1) + 1 = round(-0.5) + 1 = 1 -> 0.25; round(0.5) / 4 would give 0.
  // round(1.5 - 1) + 1 = round(0.5) + 1 = 1 -> 0.25; round(1.5) / 4 would give 0.5.
  assert.deepEqual([...p.output.dataSync()], [0.25, 0.25]);
}));

test('the scale is computed reciprocal first, fl(fl(1/(u-l)) * n), as PyTorch evaluates n / tensor', () => tf.tidy(() => {
  // Bounds (from the weight_asym_k2 fixture) where the two orders give different float32 scales.
  const u = f(0.19889391958713531);
  const l = f(-0.36449897289276123);
  const p = ddtbQuantParts(tf.tensor1d([0]), tf.scalar(u), tf.scalar(l), 2);
  assert.equal(p.scale.dataSync()[0], f(f(1 / f(u - l)) * 3));
  assert.notEqual(f(f(1 / f(u - l)) * 3), f(3 / f(u - l)), 'the two orders differ for these bounds');
}));

/** The closed-form backward of spec 2.3 with the 50/50 tie rule, in float64, per element. */
function closedForm(x: Float32Array, out: Float32Array, g: Float32Array, u: number, l: number) {
  const dx = new Float64Array(x.length);
  let du = 0;
  let dl = 0;
  for (let i = 0; i < x.length; i++) {
    const c = Math.min(Math.max(x[i], l), u);
    const r = (out[i] - c) / (u - l);
    dx[i] = g[i] * ((x[i] > l && x[i] < u ? 1 : 0) + (x[i] === u ? 0.5 : 0) + (x[i] === l ? 0.5 : 0));
    du += g[i] * ((x[i] > u ? 1 : 0) + (x[i] === u ? 0.5 : 0) + r);
    dl += g[i] * ((x[i] < l ? 1 : 0) + (x[i] === l ? 0.5 : 0) - r);
  }
  return { dx, du, dl };
}

test('bound and input gradients match the closed forms, ties included (scalar bounds)', () => {
  const u = f(1.9);
  const l = 0;
  for (const bits of [2, 3, 4]) {
    // Post-ReLU-like input: exact zeros (ties with l = 0), exact u, values above u.
    const raw = Array.from(randomInput([2, 3, 3, 4], bits).dataSync());
    raw.forEach((v, i) => { if (v < 0) raw[i] = 0; if (i % 17 === 0) raw[i] = u; });
    const xv = tf.variable(tf.tensor4d(raw, [2, 3, 3, 4]));
    const uv = tf.variable(tf.tensor1d([u]));
    const lv = tf.variable(tf.tensor1d([l]));
    const g = randomInput([2, 3, 3, 4], 100 + bits);
    const out = ddtbFakeQuant(xv, uv, lv, bits);
    const r = grads(() => tf.sum(tf.mul(g, ddtbFakeQuant(xv, uv, lv, bits))) as tf.Scalar, [xv, uv, lv]);
    const cf = closedForm(xv.dataSync() as Float32Array, out.dataSync() as Float32Array, g.dataSync() as Float32Array, u, l);
    const ties = raw.filter((v) => v === 0 || v === u).length;
    assert.ok(ties > 10, 'the input has ties with both bounds');
    r.grads.get(xv)!.forEach((v, i) => assert.ok(Math.abs(v - cf.dx[i]) <= 1e-6, `dx[${i}] ${v} vs ${cf.dx[i]}`));
    assert.ok(Math.abs(r.grads.get(uv)![0] - cf.du) <= 1e-5 * Math.max(1, Math.abs(cf.du)), `du ${r.grads.get(uv)![0]} vs ${cf.du}`);
    assert.ok(Math.abs(r.grads.get(lv)![0] - cf.dl) <= 1e-5 * Math.max(1, Math.abs(cf.dl)), `dl ${r.grads.get(lv)![0]} vs ${cf.dl}`);
    tf.dispose([xv, uv, lv, g, out]);
  }
});

test('per-sample bounds [N,1,1,1]: gradients are summed per sample', () => {
  const x = tf.variable(randomInput([3, 2, 2, 5], 5, 2));
  const ups = [f(1.2), f(2.5), f(0.9)];
  const lows = [f(-0.4), f(-1.1), f(-0.2)];
  const u = tf.variable(tf.tensor4d(ups, [3, 1, 1, 1]));
  const l = tf.variable(tf.tensor4d(lows, [3, 1, 1, 1]));
  const g = randomInput([3, 2, 2, 5], 6);
  const out = ddtbFakeQuant(x, u, l, 2).dataSync() as Float32Array;
  const r = grads(() => tf.sum(tf.mul(g, ddtbFakeQuant(x, u, l, 2))) as tf.Scalar, [x, u, l]);
  const per = 20;
  for (let s = 0; s < 3; s++) {
    const sl = (a: Float32Array) => a.subarray(s * per, (s + 1) * per);
    const cf = closedForm(sl(x.dataSync() as Float32Array), sl(out), sl(g.dataSync() as Float32Array), ups[s], lows[s]);
    assert.ok(Math.abs(r.grads.get(u)![s] - cf.du) <= 1e-5 * Math.max(1, Math.abs(cf.du)), `sample ${s} du`);
    assert.ok(Math.abs(r.grads.get(l)![s] - cf.dl) <= 1e-5 * Math.max(1, Math.abs(cf.dl)), `sample ${s} dl`);
  }
  assert.throws(() => ddtbFakeQuant(x, tf.ones([3, 1, 1, 2]), l, 2), /upper bound must be a scalar or per-sample \[N,1,1,1\]/);
  tf.dispose([x, u, l, g]);
});

function makeQuantizer(opts: { bits?: number; percentile?: number; calibration?: 'two-bit-only' | 'every-bit-width'; gate?: boolean; gradient?: 'official' | 'ste'; channels?: number } = {}) {
  return new DdtbActQuantizer('body.3.quant_act2', opts.channels ?? 4, {
    bits: opts.bits ?? 2, percentile: opts.percentile ?? 99, calibration: opts.calibration,
    gate: opts.gate === false ? null : officialGate, gateGradient: opts.gradient,
  }, Prng.fromSeed(9));
}

test('DdtbActQuantizer: official state-dict names, order, shapes and groups', () => {
  const q = makeQuantizer({ channels: 6 });
  const sd = q.stateDict();
  assert.deepEqual([...sd.keys()], ['alpha_upper', 'alpha_lower', 'max_val', 'min_val', 'is_dynamic',
    'atten_c.1.weight', 'atten_c.2.weight', 'atten_c.2.bias', 'atten_c.2.running_mean', 'atten_c.2.running_var',
    'atten_c.2.num_batches_tracked', 'atten_c.5.weight']);
  assert.deepEqual(sd.get('atten_c.1.weight')!.shape, [32, 6, 1, 1]);
  assert.deepEqual(sd.get('atten_c.5.weight')!.shape, [2, 32, 1, 1]);
  assert.deepEqual(sd.get('atten_c.2.num_batches_tracked')!.dtype, 'int64');
  assert.deepEqual([sd.get('alpha_upper')!.data[0], sd.get('alpha_lower')!.data[0]], [10, -10]);
  assert.deepEqual(q.namedParameters().filter(([, p]) => p.group === 'bound').map(([n]) => n), ['alpha_upper', 'alpha_lower']);
  // PyTorch's default conv init: uniform(+-1/sqrt(fan_in)).
  const w1 = sd.get('atten_c.1.weight')!.data as Float32Array;
  assert.ok(w1.every((v) => Math.abs(v) <= 1 / Math.sqrt(6)) && w1.some((v) => Math.abs(v) > 0.8 / Math.sqrt(6)));
  const w5 = sd.get('atten_c.5.weight')!.data as Float32Array;
  assert.ok(w5.every((v) => Math.abs(v) <= 1 / Math.sqrt(32)));
  q.dispose();
  const plain = makeQuantizer({ gate: false });
  assert.deepEqual([...plain.stateDict().keys()], ['alpha_upper', 'alpha_lower', 'max_val', 'min_val', 'is_dynamic'], 'the no-gate variant has no atten_c');
  assert.throws(() => { plain.isDynamic = true; }, /body\.3\.quant_act2: a DDTB quantizer without a gate cannot be dynamic/);
  plain.dispose();
});

test('calibration: at the first 2-bit training forward, u = P99, l = P1 (float32), once', () => {
  const q = makeQuantizer();
  const x = randomInput([2, 5, 5, 4], 21, 3, 0.2);
  q.eval();
  q.apply(x).dispose();
  assert.equal(q.bounds().upper, DDTB_INITIAL_UPPER, 'no calibration in eval mode');
  q.train();
  const y = q.apply(x);
  const [p99, p1] = percentiles(x.dataSync() as Float32Array, [99, 1]).map(f);
  assert.deepEqual(q.bounds(), { upper: p99, lower: p1 });
  assert.deepEqual([q.maxVal.dataSync()[0], q.minVal.dataSync()[0]], [p99, p1]);
  const expected = ddtbFakeQuant(x, tf.scalar(p99), tf.scalar(p1), 2);
  assert.deepEqual([...y.dataSync()], [...expected.dataSync()], 'the same forward quantizes with the calibrated bounds');
  const x2 = tf.mul(x, 3) as tf.Tensor4D;
  q.apply(x2).dispose();
  assert.deepEqual(q.bounds(), { upper: p99, lower: p1 }, 'calibrates once');
  tf.dispose([x, y, expected, x2]);
  q.dispose();
});

test('calibration policy: none at 4 bits by default (+-10 kept), at every width on request; M = 95 for RDN', () => {
  const x = randomInput([2, 4, 4, 4], 22);
  const q4 = makeQuantizer({ bits: 4 });
  q4.apply(x).dispose();
  assert.deepEqual(q4.bounds(), { upper: 10, lower: -10 });
  const every = makeQuantizer({ bits: 4, calibration: 'every-bit-width', percentile: 95 });
  every.apply(x).dispose();
  const [p95, p5] = percentiles(x.dataSync() as Float32Array, [95, 5]).map(f);
  assert.deepEqual(every.bounds(), { upper: p95, lower: p5 });
  tf.dispose(x);
  q4.dispose();
  every.dispose();
});

test('calibration on a constant batch fails naming the layer', () => {
  const q = makeQuantizer();
  const x = tf.fill([2, 3, 3, 4], 1.5) as tf.Tensor4D;
  assert.throws(() => q.apply(x), /body\.3\.quant_act2: calibration failed: P99 == P1 \(1\.5\)/);
  tf.dispose(x);
  q.dispose();
});

test('statistics mode (float): x passes unchanged, the batch max/min are recorded', () => {
  const q = makeQuantizer();
  q.mode = 'float';
  const a = randomInput([2, 3, 3, 4], 31);
  const b = randomInput([2, 3, 3, 4], 32, 5);
  const ya = q.apply(a);
  q.apply(b).dispose();
  assert.deepEqual([...ya.dataSync()], [...a.dataSync()]);
  assert.deepEqual(q.statistics.maxima, [Math.max(...a.dataSync()), Math.max(...b.dataSync())]);
  assert.deepEqual(q.statistics.minima, [Math.min(...a.dataSync()), Math.min(...b.dataSync())]);
  assert.deepEqual(q.bounds(), { upper: 10, lower: -10 }, 'no calibration in statistics mode');
  tf.dispose([a, b, ya]);
  q.dispose();
});

test('dynamic layer: first stage runs the gate but quantizes with the static bounds; second stage uses per-sample bounds', () => {
  const q = makeQuantizer({ bits: 4 });
  q.isDynamic = true;
  tf.tidy(() => { q.alphaUpper.assign(tf.tensor1d([2.3])); q.alphaLower.assign(tf.tensor1d([-0.7])); });
  const x = randomInput([3, 4, 4, 4], 41);
  tf.tidy(() => {
    q.useDynamicBounds = false;
    const y = q.apply(x);
    assert.ok(q.lastGateLogits, 'the gate ran');
    assert.deepEqual(q.lastGateLogits!.shape, [3, 1, 1, 2]);
    assert.deepEqual([...y.dataSync()], [...ddtbFakeQuant(x, q.alphaUpper, q.alphaLower, 4).dataSync()]);
    q.useDynamicBounds = true;
    const yd = q.apply(x);
    const s = q.gate!.scales(x);
    const ref = ddtbFakeQuant(x, tf.mul(s.upper, q.alphaUpper), tf.mul(s.lower, q.alphaLower), 4);
    assert.deepEqual([...yd.dataSync()], [...ref.dataSync()]);
    const beta = [...s.upper.dataSync(), ...s.lower.dataSync()];
    assert.ok(beta.every((v) => v > 0 && v < 2), 'beta in (0, 2)');
  });
  q.isDynamic = false;
  tf.tidy(() => { q.apply(x); assert.equal(q.lastGateLogits, null, 'a static layer runs no gate'); });
  tf.dispose(x);
  q.dispose();
});

test('lastGateLogits belongs to the scope of the forward pass; reading it afterwards is a clear error', () => {
  const q = makeQuantizer();
  q.isDynamic = true;
  q.eval();
  const x = randomInput([1, 3, 3, 4], 51);
  tf.tidy(() => { q.apply(x); });
  assert.throws(() => q.lastGateLogits, /body\.3\.quant_act2: the gate logits of the last apply\(\) were disposed with their tf\.tidy scope/);
  tf.dispose(x);
  q.dispose();
});

test('gate gradient modes: official -> only atten_c.5.weight learns; ste -> every gate parameter learns', () => {
  for (const gradient of ['official', 'ste'] as const) {
    const q = makeQuantizer({ bits: 2, gradient });
    q.isDynamic = true;
    tf.tidy(() => { q.alphaUpper.assign(tf.tensor1d([1.5])); q.alphaLower.assign(tf.tensor1d([-0.5])); });
    q.train();
    const x = tf.variable(randomInput([4, 3, 3, 4], 61));
    const vars = new Map<string, tf.Variable>([['x', x], ...q.namedParameters().map(([n, p]) => [n, p.variable] as [string, tf.Variable])]);
    const r = tf.variableGrads(() => tf.tidy(() => {
      const y = q.apply(x);
      return tf.add(tf.sum(tf.square(y)), gateLogitRegularizer([q.lastGateLogits!])) as tf.Scalar;
    }), [...vars.values()]);
    const byName = new Map([...vars].map(([n, v]) => [v.name, n]));
    const got = Object.keys(r.grads).map((k) => byName.get(k)!).sort();
    const want = gradient === 'official'
      ? ['alpha_lower', 'alpha_upper', 'atten_c.5.weight', 'x']
      : ['alpha_lower', 'alpha_upper', 'atten_c.1.weight', 'atten_c.2.bias', 'atten_c.2.weight', 'atten_c.5.weight', 'x'];
    assert.deepEqual(got, want, `${gradient}: parameters with a gradient`);
    tf.dispose([r.value, ...Object.values(r.grads), x]);
    q.dispose();
  }
});

test('leak test: forward + backward of a gated quantizer leaves tf.memory().numTensors flat', () => {
  const q = makeQuantizer({ bits: 2 });
  q.isDynamic = true;
  q.train();
  const x = tf.variable(randomInput([3, 4, 4, 4], 71));
  const vars = [x, ...q.namedParameters().map(([, p]) => p.variable)];
  const step = () => {
    const r = tf.variableGrads(() => tf.tidy(() => {
      const y = q.apply(x);
      const logits = q.lastGateLogits;
      return tf.add(tf.mean(tf.abs(y)), gateLogitRegularizer(logits ? [logits] : [])) as tf.Scalar;
    }), vars);
    tf.dispose([r.value, ...Object.values(r.grads)]);
  };
  step(); // the first training forward calibrates (2 bits)
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  q.eval();
  step();
  q.mode = 'float';
  step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(x);
  q.dispose();
});

test('errors name the layer: wrong channels, crossed bounds', () => {
  const q = makeQuantizer();
  q.eval();
  const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
  assert.throws(() => q.apply(x), /body\.3\.quant_act2: expected input \[N,H,W,4\], got \[1,2,2,3\]/);
  tf.tidy(() => q.alphaLower.assign(tf.tensor1d([20])));
  const x4 = tf.zeros([1, 2, 2, 4]) as tf.Tensor4D;
  assert.throws(() => q.apply(x4), /body\.3\.quant_act2: upper bound 10 is not above lower bound 20/);
  tf.dispose([x, x4]);
  q.dispose();
});
