/**
 * Parity with the official DDTB PyTorch code: every *.json in DDTB_FIXTURES (default
 * ../shared/fixtures/ddtb-official; its README gives the format, NCHW layout, ties and float32
 * operation order). Each file is one test; a case name no handler knows fails.
 *
 * Tolerances (issue 3 acceptance):
 * - `_f32` quantizer, gate, weight-quantizer, calibration and DI cases: zero one-level differences in
 *   quantized outputs; values |a - b| <= 1e-6 max|b| + 1e-5 |b| (float32 arithmetic in a different
 *   summation order); calibration results and selected layers exactly.
 * - `_f64` cases (the reference computed in float64, we compute in float32): the same value
 *   tolerance; a one-level difference is allowed only where the float64 pre-rounding value s*c - z
 *   lies within 1e-5 of a .5 tie, counted, capped at 0.1 % of the elements, and reported.
 * - Parameters the official code leaves without gradient (`scalars.grad_none`) get none here.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Prng } from '../../lib/data/prng';
import { DdtbActQuantizer, ddtbQuantParts, asymmetricGrid } from '../../lib/quant/ddtb_act';
import { OfficialGate, officialGate } from '../../lib/quant/gate';
import { percentiles } from '../../lib/quant/observer';
import { quantizeWeightAsym, quantizeWeightAsym99, quantizeWeightSym, percentileClipRange } from '../../lib/quant/weight';
import { rankDynamicIntensity, selectTopByIntensity } from '../../lib/quant/intensity';
import { attentionMap, attentionTransferLoss, gateLogitRegularizer } from '../../lib/train/losses';
import {
  Fixture, activation, assertClose, expectedHwio, expectedNhwc, filterHwio, fixtureFiles, fixtureName,
  host, readFixture, scalarOf, stateDictFrom, tensorOf, withinTolerance,
} from './ddtb_fixture';
import { checkEdsrForward } from './edsr_forward_parity';

ensureBackend();

const f32 = Math.fround;

/** A trainable variable holding `t` (which is then disposed). */
function variableOf(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

// ---------------------------------------------------------------------------------------------
// Comparisons

/**
 * Where an `_f64` reference and float32 arithmetic cannot agree (float32 rounding amplified by a
 * BatchNorm over a near-constant channel, or an exact .5 tie that float64 resolves differently),
 * the official code's own float32 run of the same case (the `_f32` twin: the same draws rounded to
 * float32) shows what float32 gives. Such elements are accepted only when they equal the twin bit
 * for bit (forward values) or are within the value tolerance of it (gradients); each is counted and
 * reported. Nothing else is relaxed.
 */
type Ref = (f: Fixture) => ArrayLike<number>;

class Checker {
  constructor(readonly fx: Fixture, readonly twin: Fixture | null) {}

  get name(): string { return fixtureName(this.fx); }

  /** Values within the tolerance of the reference (f64: or explained by the f32 twin, see above). */
  close(label: string, actual: ArrayLike<number>, ref: Ref, kind: 'value' | 'grad' = 'value'): void {
    const expected = ref(this.fx);
    const r = withinTolerance(actual, expected);
    if (r.ok) return;
    if (this.fx.dtype === 'f64' && this.twin) {
      const bad = outsideTolerance(actual, expected);
      const twinRef = ref(this.twin);
      const twinOk = kind === 'value' ? bad.every((i) => actual[i] === twinRef[i]) : withinTolerance(actual, twinRef).ok;
      if (twinOk) {
        console.log(`# ${this.name} ${label}: ${bad.length}/${expected.length} elements outside the float32 tolerance of the float64 reference; `
          + `${kind === 'value' ? 'all bit-identical to' : 'within tolerance of'} the official float32 run (${fixtureName(this.twin)})`);
        return;
      }
    }
    assertClose(`${this.name} ${label}`, actual, expected);
  }

  /**
   * A quantized output: one-level differences are counted (f32: none allowed; f64: only within 1e-5
   * of a .5 tie, at most 0.1 % of the elements unless each is also the official float32 decision),
   * then the value tolerance applies to the other elements. Returns the number of flips.
   */
  quantized(label: string, actual: ArrayLike<number>, ref: Ref, grid: LevelGrid): number {
    const expected = ref(this.fx);
    const n = expected.length;
    assert.equal(actual.length, n, `${this.name} ${label}: length`);
    const flips: number[] = [];
    let nearTie = 0;
    for (let i = 0; i < n; i++) {
      if (Math.round(Math.abs(actual[i] - expected[i]) / grid.step[i]) >= 1) {
        flips.push(i);
        const t = grid.preRound?.[i];
        if (t !== undefined && Math.abs(t - Math.floor(t) - 0.5) <= 1e-5) nearTie++;
      }
    }
    const label2 = `${this.name} ${label}`;
    if (this.fx.dtype === 'f32') {
      assert.equal(flips.length, 0, `${label2}: ${flips.length} one-level differences (first at ${flips[0]}: got ${actual[flips[0]]}, expected ${expected[flips[0]]})`);
    } else if (flips.length > 0) {
      const cap = Math.floor(0.001 * n);
      assert.equal(nearTie, flips.length, `${label2}: ${flips.length - nearTie} one-level differences away from a .5 tie`);
      let note = `cap ${cap}`;
      if (flips.length > cap) {
        assert.ok(this.twin, `${label2}: ${flips.length} tie flips exceed the cap of 0.1 % (${cap}) and there is no float32 twin to explain them`);
        const twinRef = ref(this.twin);
        const same = flips.filter((i) => actual[i] === twinRef[i]).length;
        assert.equal(same, flips.length, `${label2}: ${flips.length} tie flips exceed the cap of 0.1 % (${cap}); only ${same} are the official float32 decision`);
        note = `over the cap of ${cap}, every one the official float32 decision (${fixtureName(this.twin)})`;
      }
      console.log(`# ${label2}: ${flips.length}/${n} one-level differences, all within 1e-5 of a .5 tie (${note})`);
    }
    const skip = new Set(flips);
    const keep = (arr: ArrayLike<number>) => Array.from(arr).filter((_, i) => !skip.has(i));
    this.close(label, keep(actual), (f) => keep(ref(f)));
    return flips.length;
  }
}

function outsideTolerance(actual: ArrayLike<number>, expected: ArrayLike<number>): number[] {
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  const out: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= 1e-6 * maxAbs + 1e-5 * Math.abs(expected[i]))) out.push(i);
  }
  return out;
}

/** The `_f32` twin of an `_f64` fixture file (same case, same draws), or null. */
function twinOf(file: string, fx: Fixture): Fixture | null {
  if (fx.dtype !== 'f64') return null;
  const other = file.replace(/_f64\.json$/, '_f32.json');
  return other !== file && fs.existsSync(other) ? readFixture(other) : null;
}

interface LevelGrid {
  /** Grid step per element (1/s, or m/qmax for the symmetric quantizer). */
  readonly step: ArrayLike<number>;
  /** The float64 pre-rounding value s*c - z per element (for the f64 tie allowance), if known. */
  readonly preRound?: ArrayLike<number>;
}

/** Per-element grid of the DDTB formula for NHWC x with per-sample bounds (fixture values). */
function ddtbGrid(fx: Fixture, xNhwc: Float64Array, samples: number, upper: number[], lower: number[], bits: number): LevelGrid {
  const per = xNhwc.length / samples;
  const levels = 2 ** bits - 1;
  const step = new Float64Array(xNhwc.length);
  const preRound = new Float64Array(xNhwc.length);
  for (let i = 0; i < xNhwc.length; i++) {
    const smp = Math.floor(i / per);
    const u = upper[smp];
    const l = lower[smp];
    const s = fx.dtype === 'f32' ? f32(f32(1 / f32(u - l)) * levels) : (1 / (u - l)) * levels;
    const z = Math.round(s * l) + 2 ** (bits - 1);
    const c = Math.min(Math.max(xNhwc[i], l), u);
    step[i] = 1 / s;
    preRound[i] = s * c - z;
  }
  return { step, preRound };
}

/** Grid of the gate's min/max quantizer over the whole input tensor `input`. */
function minMaxGrid(input: ArrayLike<number>, bits: number): LevelGrid {
  let mx = -Infinity;
  let mn = Infinity;
  for (let i = 0; i < input.length; i++) { mx = Math.max(mx, input[i]); mn = Math.min(mn, input[i]); }
  const s = (1 / (mx - mn)) * (2 ** bits - 1);
  const z = Math.round(s * mn) + 2 ** (bits - 1);
  return { step: new Float64Array(input.length).fill(1 / s), preRound: Array.from(input, (v) => s * v - z) };
}

// ---------------------------------------------------------------------------------------------
// Gradients

interface GradResult { loss: number; grads: Map<string, Float64Array> }

/** Runs L = f() under tf.variableGrads over the named variables; returns host copies. */
function gradientsOf(f: () => tf.Scalar, vars: ReadonlyMap<string, tf.Variable>): GradResult {
  const byVar = new Map([...vars].map(([name, v]) => [v.name, name]));
  const { value, grads } = tf.variableGrads(f, [...vars.values()]);
  const out = new Map<string, Float64Array>();
  for (const [varName, g] of Object.entries(grads)) {
    out.set(byVar.get(varName)!, host(g));
    g.dispose();
  }
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: out };
}

/** Asserts that exactly the variables outside `none` received a gradient. */
function checkGradNone(fx: Fixture, label: string, r: GradResult, vars: ReadonlyMap<string, tf.Variable>, none: readonly string[]): void {
  for (const name of vars.keys()) {
    const official = none.includes(name) ? 'no gradient' : 'a gradient';
    const ours = r.grads.has(name) ? 'a gradient' : 'no gradient';
    assert.equal(ours, official, `${fixtureName(fx)} ${label}: ${name} gets ${ours}, the official code gives it ${official}`);
  }
  for (const name of none) assert.ok(vars.has(name), `${fixtureName(fx)} ${label}: grad_none names unknown '${name}'`);
}

/** A fixture tensor as a flat array in the library layout: NHWC for activations, HWIO for filters. */
function flat(f: Fixture, key: string, layout: 'activation' | 'filter' | 'plain' = 'activation'): Float64Array {
  if (layout === 'filter') return expectedHwio(f, key);
  if (layout === 'plain') return Float64Array.from(tensorOf(f, key).data);
  return expectedNhwc(f, key);
}

function scalarRef(key: string): Ref {
  return (f) => [scalarOf(f, key)];
}

// ---------------------------------------------------------------------------------------------
// Activation quantizer cases (static, dynamic, calibration)

function quantizerFor(fx: Fixture, channels: number, bits: number, percentile = 99): DdtbActQuantizer {
  return new DdtbActQuantizer(fixtureName(fx), channels, { bits, percentile, gate: officialGate }, Prng.fromSeed(7));
}

function quantizerVars(q: DdtbActQuantizer, x: tf.Variable): Map<string, tf.Variable> {
  return new Map<string, tf.Variable>([['x', x], ...q.namedParameters().map(([n, p]) => [n, p.variable] as [string, tf.Variable])]);
}

/** Loads the fixture's bounds and (for dynamic cases) gate parameters and BN state `_before`, by official name. */
function loadQuantizerState(fx: Fixture, q: DdtbActQuantizer, withGate: boolean): void {
  const names = new Map([['alpha_upper', 'alpha_upper'], ['alpha_lower', 'alpha_lower']]);
  if (withGate) {
    for (const k of ['atten_c.1.weight', 'atten_c.2.weight', 'atten_c.2.bias', 'atten_c.5.weight']) names.set(k, k);
    for (const k of ['running_mean', 'running_var', 'num_batches_tracked']) names.set(`atten_c.2.${k}`, `atten_c.2.${k}_before`);
  }
  q.loadStateDict(stateDictFrom(fx, names), { strict: true, allowMissing: (n) => !names.has(n), source: fixtureName(fx) });
}

/** Forward + backward of L = sum(g * q(x)) on the quantizer; compares q, loss and the gradients. */
function checkActForwardBackward(c: Checker, q: DdtbActQuantizer, bits: number, bounds: { upper: number[]; lower: number[] }): void {
  const fx = c.fx;
  const x = variableOf(activation(fx, 'x'));
  const g = activation(fx, 'g');
  try {
    const vars = quantizerVars(q, x);
    let out: Float64Array = new Float64Array(0);
    const r = gradientsOf(() => tf.tidy(() => {
      const y = q.apply(x as unknown as tf.Tensor4D);
      out = host(y);
      return tf.sum(tf.mul(g, y)) as tf.Scalar;
    }), vars);
    c.quantized('q', out, (f) => flat(f, 'q'), ddtbGrid(fx, flat(fx, 'x'), x.shape[0], bounds.upper, bounds.lower, bits));
    c.close('loss', [r.loss], scalarRef('loss'), 'grad');
    if ('grad_none' in fx.scalars) checkGradNone(fx, 'task loss', r, vars, scalarOf<string[]>(fx, 'grad_none'));
    else {
      // No list (calibration cases): a gradient exists here exactly where the fixture records one.
      for (const name of vars.keys()) {
        const key = name === 'x' ? 'grad_x' : `grad_${name}`;
        assert.equal(r.grads.has(name), key in fx.tensors, `${c.name}: ${name} gradient presence`);
      }
    }
    for (const [name, grad] of r.grads) {
      const key = name === 'x' ? 'grad_x' : `grad_${name}`;
      const layout = name === 'x' ? 'activation' : tensorOf(fx, key).shape.length === 4 ? 'filter' : 'plain';
      c.close(key, grad, (f) => flat(f, key, layout), 'grad');
    }
  } finally {
    x.dispose();
    g.dispose();
  }
}

function runStatic(c: Checker): void {
  const fx = c.fx;
  const bits = scalarOf(fx, 'k_bits');
  const x = activation(fx, 'x') as tf.Tensor4D;
  const q = quantizerFor(fx, x.shape[3], bits);
  try {
    loadQuantizerState(fx, q, false);
    q.train(scalarOf<boolean>(fx, 'training'));
    q.isDynamic = scalarOf(fx, 'is_dynamic') === 1;
    const u = scalarOf(fx, 'u');
    const l = scalarOf(fx, 'l');
    // The integer codes, scale and zero point of the formula.
    const parts = ddtbQuantParts(x, q.alphaUpper, q.alphaLower, bits);
    const [code, scale, zero] = [host(parts.code), host(parts.scale), host(parts.zeroPoint)];
    tf.dispose([parts.clamped, parts.code, parts.scale, parts.zeroPoint, parts.output]);
    c.quantized('int_code', code, (f) => flat(f, 'int_code'), { step: new Float64Array(code.length).fill(1) });
    c.close('scale_factor', scale, (f) => flat(f, 'scale_factor', 'plain'));
    c.close('zero_point', zero, (f) => flat(f, 'zero_point', 'plain'));
    if (fx.dtype === 'f32') {
      assert.equal(scale[0], tensorOf(fx, 'scale_factor').data[0], `${c.name}: scale_factor bit-exact`);
      assert.equal(countEqual(x, u), scalarOf(fx, 'count_x_eq_u'), 'elements equal to u');
      assert.equal(countEqual(x, l), scalarOf(fx, 'count_x_eq_l'), 'elements equal to l');
    }
    const n = x.shape[0];
    checkActForwardBackward(c, q, bits, { upper: new Array(n).fill(u), lower: new Array(n).fill(l) });
  } finally {
    q.dispose();
    x.dispose();
  }
}

function countEqual(x: tf.Tensor, v: number): number {
  return [...x.dataSync()].filter((e) => e === v).length;
}

function runDynamic(c: Checker): void {
  const fx = c.fx;
  const bits = scalarOf(fx, 'k_bits');
  const x = activation(fx, 'x') as tf.Tensor4D;
  const q = quantizerFor(fx, x.shape[3], bits);
  try {
    loadQuantizerState(fx, q, true);
    q.isDynamic = true;
    q.train(scalarOf<boolean>(fx, 'training'));
    q.useDynamicBounds = scalarOf<boolean>(fx, 'dynamic_bounds_used');
    const gate = q.gate as OfficialGate;

    // 1. Gate internals (a separate pass; the BN state is reloaded afterwards).
    const st = gate.stages(x);
    c.close('context_avgpool', host(st.pooled), (f) => flat(f, 'context_avgpool'));
    st.stage.forEach((t, i) => {
      const key = `gate.${i}.out`;
      if (i === 0 || i === 4) {
        const input = flat(fx, i === 0 ? 'context_avgpool' : 'gate.3.out');
        c.quantized(key, host(t), (f) => flat(f, key), minMaxGrid(input, 2));
      } else c.close(key, host(t), (f) => flat(f, key));
    });
    for (const [w, key] of [[st.weight1, 'atten_c.1.weight_quantized'], [st.weight5, 'atten_c.5.weight_quantized']] as const) {
      const ref = flat(fx, key, 'filter');
      const m = Math.max(...Array.from(ref, Math.abs));
      c.quantized(key, host(w), (f) => flat(f, key, 'filter'), { step: new Float64Array(ref.length).fill(m) });
    }
    c.close('c_presigmoid', host(st.logits), (f) => flat(f, 'c_presigmoid'));
    c.close('sau', host(st.upper), (f) => flat(f, 'sau', 'plain'));
    c.close('sal', host(st.lower), (f) => flat(f, 'sal', 'plain'));
    const uPer = tf.mul(st.upper, q.alphaUpper);
    const lPer = tf.mul(st.lower, q.alphaLower);
    c.close('u_per_sample', host(uPer), (f) => flat(f, 'u_per_sample', 'plain'));
    c.close('l_per_sample', host(lPer), (f) => flat(f, 'l_per_sample', 'plain'));
    tf.dispose([st.pooled, ...st.stage, st.weight1, st.weight5, st.upper, st.lower, uPer, lPer]);
    loadQuantizerState(fx, q, true);

    // 2. Task loss: q, its gradients, and the BN running statistics after one forward.
    const n = x.shape[0];
    const bounds = q.useDynamicBounds
      ? { upper: tensorOf(fx, 'u_per_sample').data, lower: tensorOf(fx, 'l_per_sample').data }
      : { upper: new Array(n).fill(scalarOf(fx, 'u')), lower: new Array(n).fill(scalarOf(fx, 'l')) };
    checkActForwardBackward(c, q, bits, bounds);
    c.close('running_mean after', host(gate.bn.runningMean), (f) => flat(f, 'atten_c.2.running_mean_after', 'plain'));
    c.close('running_var after', host(gate.bn.runningVar), (f) => flat(f, 'atten_c.2.running_var_after', 'plain'));
    assert.equal(gate.bn.numBatchesTracked.value, tensorOf(fx, 'atten_c.2.num_batches_tracked_after').data[0], `${c.name}: num_batches_tracked after`);

    // 3. First stage: the regulariser on the pre-sigmoid logits and its gradient.
    if ('reg_loss' in fx.scalars) {
      loadQuantizerState(fx, q, true);
      const xv = tf.variable(x, true);
      try {
        const vars = quantizerVars(q, xv);
        const r = gradientsOf(() => tf.tidy(() => {
          q.apply(xv as unknown as tf.Tensor4D);
          const logits = q.lastGateLogits;
          assert.ok(logits, `${c.name}: the gate did not run`);
          return gateLogitRegularizer([logits]);
        }), vars);
        c.close('reg_loss', [r.loss], scalarRef('reg_loss'), 'grad');
        checkGradNone(fx, 'regulariser', r, vars, scalarOf<string[]>(fx, 'reg_grad_none'));
        c.close('reg_grad_atten_c.5.weight', r.grads.get('atten_c.5.weight')!, (f) => flat(f, 'reg_grad_atten_c.5.weight', 'filter'), 'grad');
      } finally {
        xv.dispose();
      }
    }
  } finally {
    q.dispose();
    x.dispose();
  }
}

function runCalibration(c: Checker): void {
  const fx = c.fx;
  const bits = scalarOf(fx, 'k_bits');
  const m = scalarOf(fx, 'M');
  // numpy-exact percentiles on the fixture's own data and dtype (host, float64 result).
  const raw = tensorOf(fx, 'x').data;
  const data = fx.dtype === 'f32' ? Float32Array.from(raw) : Float64Array.from(raw);
  const [pm, p100m] = percentiles(data, [m, 100 - m]);
  assert.equal(pm, scalarOf(fx, 'np_percentile_M_float64'), `${c.name}: P${m} equals numpy 1.24's float64 result exactly`);
  assert.equal(p100m, scalarOf(fx, 'np_percentile_100_minus_M_float64'), `${c.name}: P${100 - m} equals numpy's exactly`);

  const x = activation(fx, 'x') as tf.Tensor4D;
  const q = quantizerFor(fx, x.shape[3], bits, m);
  try {
    q.isDynamic = scalarOf(fx, 'is_dynamic') === 1;
    q.train(scalarOf<boolean>(fx, 'training'));
    assert.equal(q.bounds().upper, scalarOf(fx, 'alpha_upper_before'));
    const n = x.shape[0];
    checkActForwardBackward(c, q, bits, { upper: new Array(n).fill(scalarOf(fx, 'u_after')), lower: new Array(n).fill(scalarOf(fx, 'l_after')) });
    const after = [q.alphaUpper, q.alphaLower, q.maxVal, q.minVal].map((v) => v.dataSync()[0]);
    const want = (f: Fixture) => ['alpha_upper_after', 'alpha_lower_after', 'max_val_buffer', 'min_val_buffer'].map((k) => tensorOf(f, k).data[0]);
    if (fx.dtype === 'f32') assert.deepEqual(after, want(fx), `${c.name}: calibrated u, l, max_val, min_val exactly`);
    else c.close('calibrated bounds', after, want);
  } finally {
    q.dispose();
    x.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Weight quantizers

function runWeight(c: Checker): void {
  const fx = c.fx;
  const bits = scalarOf(fx, 'k_bits');
  const method = scalarOf<string>(fx, 'quantizer');
  const w = variableOf(filterHwio(fx, 'W'));
  const g = filterHwio(fx, 'g');
  const raw = tensorOf(fx, 'W').data;
  const data = fx.dtype === 'f32' ? Float32Array.from(raw) : Float64Array.from(raw);
  const levels = 2 ** bits - 1;
  let step: number;
  try {
    if (method === 'quant_weight_asym99') {
      const [p99, p1] = percentiles(data, [99, 1]);
      assert.equal(p99, scalarOf(fx, 'np_percentile_99_float64'), `${c.name}: P99 equals numpy's exactly`);
      assert.equal(p1, scalarOf(fx, 'np_percentile_1_float64'), `${c.name}: P1 equals numpy's exactly`);
      const { lo, hi } = percentileClipRange(w, 99);
      const s = tf.tidy(() => asymmetricGrid(tf.scalar(hi), tf.scalar(lo), bits).scale.dataSync()[0]);
      const keys = ['max_val_float32', 'min_val_float32', 'scale_factor_float32'];
      if (fx.dtype === 'f32') {
        assert.deepEqual([hi, lo], keys.slice(0, 2).map((k) => scalarOf(fx, k)), `${c.name}: float32 clip range exactly`);
        // The recorded scale_factor_float32 is the fixture driver's own n / (hi - lo) (true division);
        // the code's reciprocal-first scale, the one that reproduces q bit for bit below, can differ
        // from it by an ulp (weight_asym99_tie_k3: 23.991623 against 23.991625), so a value check.
        c.close('scale_factor_float32', [s], scalarRef('scale_factor_float32'));
        assert.equal(countEqual(w, hi), scalarOf(fx, 'count_w_eq_max_val'), `${c.name}: weights equal to P99`);
        assert.equal(countEqual(w, lo), scalarOf(fx, 'count_w_eq_min_val'), `${c.name}: weights equal to P1`);
      } else {
        c.close('clip range and scale', [hi, lo, s], (f) => keys.map((k) => scalarOf(f, k)));
      }
      step = 1 / s;
    } else if (method === 'quant_weight_asym') {
      const mx = Math.max(...data);
      const mn = Math.min(...data);
      assert.deepEqual([mx, mn], [scalarOf(fx, 'max_val'), scalarOf(fx, 'min_val')], `${c.name}: min/max`);
      step = 1 / (fx.dtype === 'f32' ? f32(f32(1 / f32(mx - mn)) * levels) : (1 / (mx - mn)) * levels);
    } else if (method === 'quant_weight') {
      const m = Math.max(...Array.from(data, Math.abs));
      const mPlus = fx.dtype === 'f32' ? f32(m + f32(1e-8)) : m + 1e-8;
      assert.equal(mPlus, scalarOf(fx, 'max_abs_plus_1e-8'), `${c.name}: max|W| + 1e-8`);
      step = mPlus / scalarOf(fx, 'qmax');
    } else {
      throw new Error(`${c.name}: unknown weight quantizer '${method}'`);
    }
    const quantize = (t: tf.Tensor) => method === 'quant_weight_asym99' ? quantizeWeightAsym99(t, bits, 99, c.name)
      : method === 'quant_weight_asym' ? quantizeWeightAsym(t, bits, c.name) : quantizeWeightSym(t, bits, c.name);
    let out: Float64Array = new Float64Array(0);
    const vars = new Map([['W', w]]);
    const r = gradientsOf(() => tf.tidy(() => {
      const q = quantize(w);
      out = host(q);
      return tf.sum(tf.mul(g, q)) as tf.Scalar;
    }), vars);
    c.quantized('q', out, (f) => flat(f, 'q', 'filter'), { step: new Float64Array(out.length).fill(step) });
    c.close('loss', [r.loss], scalarRef('loss'), 'grad');
    checkGradNone(fx, 'loss', r, vars, scalarOf<string[]>(fx, 'grad_none'));
    c.close('grad_W', r.grads.get('W')!, (f) => flat(f, 'grad_W', 'filter'), 'grad');
  } finally {
    w.dispose();
    g.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Attention transfer and dynamic intensity

function runAtLoss(c: Checker): void {
  const fx = c.fx;
  const xs = variableOf(activation(fx, 'x_student'));
  const yt = variableOf(activation(fx, 'y_teacher'));
  try {
    const maps = tf.tidy(() => [attentionMap(xs as unknown as tf.Tensor4D), attentionMap(yt as unknown as tf.Tensor4D)]);
    c.close('at_student', host(maps[0]), (f) => flat(f, 'at_student', 'plain'));
    c.close('at_teacher', host(maps[1]), (f) => flat(f, 'at_teacher', 'plain'));
    tf.dispose(maps);
    const vars = new Map([['x_student', xs], ['y_teacher', yt]]);
    const r = gradientsOf(() => attentionTransferLoss(xs as unknown as tf.Tensor4D, yt as unknown as tf.Tensor4D), vars);
    c.close('at_loss', [r.loss], (f) => flat(f, 'at_loss', 'plain'), 'grad');
    c.close('grad_x_student', r.grads.get('x_student')!, (f) => flat(f, 'grad_x_student'), 'grad');
    const none = scalarOf<string[]>(fx, 'grad_none').map((s) => s.split(' ')[0]);
    checkGradNone(fx, 'at_loss', r, vars, none);
  } finally {
    xs.dispose();
    yt.dispose();
  }
}

function runDynamicIntensity(c: Checker): void {
  const fx = c.fx;
  const order = scalarOf<string[]>(fx, 'layers_in_module_order');
  const layers = order.map((l) => ({ name: l, maxima: tensorOf(fx, `${l}.fp_max_list`).data, minima: tensorOf(fx, `${l}.fp_min_list`).data }));
  type PerLayer = Record<string, { DI: number; DI_float64_recomputed: number }>;
  const ranking = rankDynamicIntensity(layers, scalarOf(fx, 'main_ratio'));
  assert.deepEqual(ranking.map((r) => r.name), order, `${c.name}: table in forward order`);
  c.close('DI', ranking.map((r) => r.di), (f) => order.map((l) => scalarOf<PerLayer>(f, 'per_layer')[l].DI));
  c.close('DI float64', ranking.map((r) => r.di), (f) => order.map((l) => scalarOf<PerLayer>(f, 'per_layer')[l].DI_float64_recomputed));
  const sorted = scalarOf<Array<[string, number]>>(fx, 'sorted_desc');
  assert.deepEqual([...ranking].sort((a, b) => a.rank - b.rank).map((r) => r.name), sorted.map(([l]) => l), `${c.name}: DI order`);
  const selection = scalarOf<Record<string, { count: number; selected: string[] }>>(fx, 'selection');
  for (const [ratio, want] of Object.entries(selection)) {
    const rows = rankDynamicIntensity(layers, Number(ratio));
    assert.deepEqual(selectTopByIntensity(rows, Number(ratio)), want.selected, `${c.name}: selection at ratio ${ratio}`);
    assert.equal(rows.filter((r) => r.selected).length, want.count, `${c.name}: count at ratio ${ratio}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Registry: case-name patterns -> handler

const handlers: ReadonlyArray<{ readonly pattern: RegExp; readonly run: (c: Checker) => void }> = [
  { pattern: /^quant_static(_b|_tie|_relu|_halfround)?_k[234]_f(32|64)$/, run: runStatic },
  { pattern: /^quant_dynamic_(train|eval|firststage)_k[24]_f(32|64)$/, run: runDynamic },
  { pattern: /^calib_M(95|99)_k2_f(32|64)$/, run: runCalibration },
  { pattern: /^weight_(asym99|asym99_tie|asym|sym)_k[234]_f(32|64)$/, run: runWeight },
  { pattern: /^at_loss_f(32|64)$/, run: runAtLoss },
  { pattern: /^dynamic_intensity_f(32|64)$/, run: runDynamicIntensity },
  { pattern: /^edsr_forward_f(32|64)$/, run: (c) => checkEdsrForward(c.fx) },
];

for (const file of fixtureFiles()) {
  const fx = readFixture(file);
  const name = fixtureName(fx);
  test(`official fixture ${name} (${path.basename(file)})`, () => {
    const h = handlers.find((entry) => entry.pattern.test(name));
    if (!h) assert.fail(`unknown fixture case '${name}' in ${file}: add a handler to test/golden/ddtb_official.test.ts`);
    const before = tf.memory().numTensors;
    h.run(new Checker(fx, twinOf(file, fx)));
    assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked by the check`);
  });
}
