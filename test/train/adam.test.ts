import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { Adam, AdamState, adamUpdate } from '../../lib/train/adam';
import { stepLrFactor } from '../../lib/train/schedule';
import { fmaF32 } from '../../lib/nn/batchnorm';
import { UserError } from '../../lib/errors';
import { sharedPath } from '../helpers';

ensureBackend();
const f = Math.fround;

interface FixtureTensor { shape: number[]; data: number[] }
interface FixtureStep {
  step: number;
  lr_used: [number, number];
  grads: Record<string, FixtureTensor | null>;
  after: Record<string, FixtureTensor>;
  state_step: Record<string, number>;
}
interface Fixture { initial: Record<string, FixtureTensor>; steps: FixtureStep[] }

// torch.optim.Adam 1.13, float32: group 0 = [w, b] lr 1e-4, group 1 = [u, l] lr 1e-2, StepLR(2, 0.5)
// stepped after every optimiser step; b has no gradient at step 3 (README in the fixture folder).
const fixture: Fixture = JSON.parse(fs.readFileSync(sharedPath('fixtures', 'pytorch-adam', 'adam_two_groups_steplr.json'), 'utf8'));
const NAMES = ['w', 'b', 'u', 'l'];

let serial = 0;
function makeParams(values: Record<string, Float32Array | number[]>, shapes: Record<string, number[]>): Record<string, tf.Variable> {
  serial++;
  return Object.fromEntries(NAMES.map((n) => [n, tf.variable(tf.tensor(values[n], shapes[n], 'float32'), true, `adam_test_${serial}/${n}`)]));
}

function fixtureShapes(): Record<string, number[]> {
  return Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].shape]));
}

function makeAdam(v: Record<string, tf.Variable>): Adam {
  return new Adam([
    { name: 'base', learningRate: 1e-4, params: [['w', v.w], ['b', v.b]] },
    { name: 'bound', learningRate: 1e-2, params: [['u', v.u], ['l', v.l]] },
  ]);
}

/** Gradients of one fixture step keyed by tfjs variable name (b absent where the trace has None). */
function stepGrads(v: Record<string, tf.Variable>, s: FixtureStep): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const n of NAMES) {
    const g = s.grads[n];
    if (g) out[v[n].name] = tf.tensor(g.data, g.shape, 'float32');
  }
  return out;
}

/** |bits(a) - bits(b)| of two float32 values of the same sign (the ulp distance). */
function ulps(a: number, b: number): number {
  const buf = new Float32Array([a, b]);
  const bits = new Int32Array(buf.buffer);
  return Math.abs(bits[0] - bits[1]);
}

/** Runs fixture steps [from, to] (1-based) on `adam`, checking every parameter after each. */
function runSteps(adam: Adam, v: Record<string, tf.Variable>, from: number, to: number): number {
  let maxUlps = 0;
  for (const s of fixture.steps.slice(from - 1, to)) {
    // StepLR stepped after every optimiser step: step s trains at gamma^floor((s - 1) / 2).
    adam.setLearningRates(stepLrFactor(s.step, 2, 0.5));
    assert.deepEqual(adam.learningRates(), { base: s.lr_used[0], bound: s.lr_used[1] }, `learning rates at step ${s.step}`);
    const grads = stepGrads(v, s);
    adam.step(grads);
    tf.dispose(Object.values(grads));
    for (const n of NAMES) {
      const got = v[n].dataSync();
      const want = s.after[n].data;
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) maxUlps = Math.max(maxUlps, ulps(got[i], want[i]));
      assert.equal(adam.stepOf(n), s.state_step[n], `step count of ${n} after step ${s.step}`);
    }
  }
  return maxUlps;
}

test('matches the PyTorch Adam trace bit for bit (two groups, StepLR, a missing gradient)', () => {
  const v = makeParams(Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].data])), fixtureShapes());
  const adam = makeAdam(v);
  const maxUlps = runSteps(adam, v, 1, 5);
  assert.equal(maxUlps, 0, `max ulp difference to the trace: ${maxUlps}`);
  // b lags: it skipped step 3, so it has had 4 updates.
  assert.equal(adam.stepOf('b'), 4);
  adam.dispose();
  tf.dispose(Object.values(v));
});

test('against a float64 textbook Adam from zero, where the update itself is visible', () => {
  // The trace above moves parameters of size ~1 by ~1e-4, so it only sees relative changes of the
  // update above ~4e-5 (an eps of 1e-7 instead of 1e-8 passes it). Parameters starting at 0, with
  // gradients from 1e-9 (where eps decides the step) to 10, expose the update itself.
  const grads = [
    [1e-8, -3e-9, 0.5, -2, 10, 1e-3],
    [2e-8, 1e-9, -0.25, -1, 9, 0],
    [-1e-8, 5e-9, 0.75, 3, -10, 2e-3],
    [0, -4e-9, 0.1, -0.5, 1, -1e-3],
  ].map((row) => row.map(f));
  const w = tf.variable(tf.zeros([6]), true, `adam_test_ref_${serial++}`);
  const adam = new Adam([{ name: 'base', learningRate: 1e-3, params: [['w', w]] }]);
  const ref = { p: new Float64Array(6), m: new Float64Array(6), v: new Float64Array(6) };
  let maxRel = 0;
  grads.forEach((row, k) => {
    const t = k + 1;
    const lr = 1e-3 * 0.5 ** Math.floor(k / 2);
    adam.setLearningRates(0.5 ** Math.floor(k / 2));
    const g = tf.tensor1d(row);
    adam.step({ [w.name]: g });
    g.dispose();
    const got = w.dataSync();
    for (let i = 0; i < 6; i++) {
      ref.m[i] = 0.9 * ref.m[i] + 0.1 * row[i];
      ref.v[i] = 0.999 * ref.v[i] + 0.001 * row[i] * row[i];
      const mHat = ref.m[i] / (1 - 0.9 ** t);
      const vHat = ref.v[i] / (1 - 0.999 ** t);
      ref.p[i] -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
      maxRel = Math.max(maxRel, Math.abs(got[i] - ref.p[i]) / Math.abs(ref.p[i]));
    }
  });
  // float32 storage and arithmetic over four steps: a few float32 epsilons (1.2e-7) at most.
  assert.ok(maxRel < 1e-6, `max relative error ${maxRel}`);
  // The first step of a gradient of 1e-8 is -lr * 1e-8 / (1e-8 + eps) = -lr / 2 (tfjs's eps 1e-7: -lr / 11).
  adam.dispose();
  const first = tf.variable(tf.zeros([1]), true, `adam_test_ref_${serial++}`);
  const one = new Adam([{ name: 'base', learningRate: 1e-3, params: [['w', first]] }]);
  const g = tf.tensor1d([1e-8]);
  one.step({ [first.name]: g });
  assert.ok(Math.abs(first.dataSync()[0] / -5e-4 - 1) < 1e-6, `step ${first.dataSync()[0]}`);
  tf.dispose([g, first, w]);
  one.dispose();
});

test('a parameter without a gradient keeps its value, moments and step count', () => {
  const v = makeParams(Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].data])), fixtureShapes());
  const adam = makeAdam(v);
  const s1 = fixture.steps[0];
  const g1 = stepGrads(v, s1);
  adam.step(g1);
  const before = adam.state();
  const bBefore = v.b.dataSync().slice() as Float32Array;
  // Only w and u get gradients; b and l must not move at all.
  const g2 = stepGrads(v, fixture.steps[1]);
  adam.step({ [v.w.name]: g2[v.w.name], [v.u.name]: g2[v.u.name], [v.l.name]: null });
  const after = adam.state();
  assert.deepEqual(v.b.dataSync(), bBefore);
  for (const name of ['b', 'l']) {
    const find = (st: AdamState) => st.groups.flatMap((g) => g.params).find((p) => p.name === name)!;
    assert.equal(find(after).step, 1, `${name} step`);
    assert.deepEqual(find(after).exp_avg, find(before).exp_avg, `${name} exp_avg`);
    assert.deepEqual(find(after).exp_avg_sq, find(before).exp_avg_sq, `${name} exp_avg_sq`);
  }
  assert.equal(adam.stepOf('w'), 2);
  assert.equal(adam.stepOf('u'), 2);
  // Its bias correction then uses its own count: b's next update is a "step 2" update.
  const g3 = stepGrads(v, fixture.steps[2 - 1]);
  const bState = before.groups[0].params[1];
  const m = bState.exp_avg.slice();
  const vv = bState.exp_avg_sq.slice();
  const expected = adamUpdate(bBefore, g3[v.b.name].dataSync() as Float32Array, m, vv, {
    beta1: 0.9, beta2: 0.999, eps: 1e-8, negStepSize: -1e-4 / (1 - 0.9 ** 2), biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** 2),
  });
  adam.step({ [v.b.name]: g3[v.b.name] });
  assert.deepEqual(v.b.dataSync(), expected);
  // The fixture's own step 2 for b is exactly this update: same state, same gradient, same step count.
  assert.deepEqual(Array.from(v.b.dataSync()), fixture.steps[1].after.b.data);
  tf.dispose([...Object.values(g1), ...Object.values(g2), ...Object.values(g3)]);
  adam.dispose();
  tf.dispose(Object.values(v));
});

test('state() mid-trace, loadState into a fresh optimizer: the rest of the trace is identical', () => {
  const v = makeParams(Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].data])), fixtureShapes());
  const adam = makeAdam(v);
  runSteps(adam, v, 1, 3); // after step 3: b lags behind, learning rates halved once
  const saved = structuredClone(adam.state());
  const values = Object.fromEntries(NAMES.map((n) => [n, v[n].dataSync().slice() as Float32Array]));
  // The copy is independent of the optimizer.
  const live = adam.state();
  live.groups[0].params[0].exp_avg[0] = 123;
  assert.notEqual(adam.state().groups[0].params[0].exp_avg[0], 123);
  adam.dispose();
  tf.dispose(Object.values(v));

  const v2 = makeParams(values, fixtureShapes());
  const resumed = makeAdam(v2);
  resumed.loadState(saved);
  assert.equal(resumed.stepOf('b'), 2);
  assert.deepEqual(resumed.learningRates(), { base: 5e-5, bound: 5e-3 });
  const maxUlps = runSteps(resumed, v2, 4, 5);
  assert.equal(maxUlps, 0);
  resumed.dispose();
  tf.dispose(Object.values(v2));
});

test('loadState rejects a state of another model, naming the group or parameter', () => {
  const v = makeParams(Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].data])), fixtureShapes());
  const adam = makeAdam(v);
  const good = adam.state();
  const renamed: AdamState = { ...good, groups: [{ ...good.groups[0], params: [good.groups[0].params[0], { ...good.groups[0].params[1], name: 'bias' }] }, good.groups[1]] };
  assert.throws(() => adam.loadState(renamed), (e: Error) => e instanceof UserError && /group 'base' lacks b$/.test(e.message));
  const short: AdamState = { ...good, groups: [{ ...good.groups[0], params: [{ ...good.groups[0].params[0], exp_avg: new Float32Array(3) }, good.groups[0].params[1]] }, good.groups[1]] };
  assert.throws(() => adam.loadState(short), /optimizer state: w has 3 values, the parameter 12/);
  assert.throws(() => adam.loadState({ ...good, eps: 1e-7 }), /eps 1e-7 differ/);
  assert.throws(() => adam.loadState({ ...good, groups: [good.groups[1], good.groups[0]] }), /parameter groups \[bound, base\], expected \[base, bound\]/);
  adam.dispose();
  tf.dispose(Object.values(v));
});

test('step() rejects a gradient for an unknown variable or of the wrong shape, before changing anything', () => {
  const v = makeParams(Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].data])), fixtureShapes());
  const adam = makeAdam(v);
  const stray = tf.zeros([2]);
  const wrong = tf.zeros([4, 3]);
  const gw = tf.ones([3, 4]);
  assert.throws(() => adam.step({ [v.w.name]: gw, other: stray }), /gradient for variable 'other', which is in no parameter group/);
  const gu = tf.zeros([1]);
  assert.throws(() => adam.step({ [v.u.name]: gu, [v.w.name]: wrong }), /gradient of w has shape \[4,3\], the parameter \[3,4\]/);
  assert.equal(adam.stepOf('w'), 0);
  assert.equal(adam.stepOf('u'), 0);
  assert.deepEqual(Array.from(v.w.dataSync()), fixture.initial.w.data);
  tf.dispose([stray, wrong, gw, gu]);
  adam.dispose();
  tf.dispose(Object.values(v));
});

test('the first moment is a fused multiply-add, as in PyTorch\'s AVX2 add kernel', () => {
  // m = fma(0.1f, g, 0.9f * m): find inputs where one rounding and two roundings disagree, so the
  // test can tell the orders apart (the fixture above cannot: both orders reproduce it).
  const m0 = f(0.7);
  let g = 0;
  for (let k = 1; k < 1000; k++) {
    const c = f(0.3 + k * 1e-3);
    if (fmaF32(f(0.1), c, f(m0 * f(0.9))) !== f(f(m0 * f(0.9)) + f(f(0.1) * c))) { g = c; break; }
  }
  assert.notEqual(g, 0, 'no distinguishing input found');
  const w = tf.variable(tf.tensor1d([1]), true, `adam_test_fma_${serial++}`);
  const adam = new Adam([{ name: 'base', learningRate: 1e-4, params: [['w', w]] }]);
  // Set m to m0 exactly through loadState (step 0: the next update is step 1).
  const st = adam.state();
  adam.loadState({ ...st, groups: [{ ...st.groups[0], params: [{ ...st.groups[0].params[0], exp_avg: new Float32Array([m0]) }] }] });
  const g2 = tf.tensor1d([g]);
  adam.step({ [w.name]: g2 });
  const m = adam.state().groups[0].params[0].exp_avg[0];
  assert.equal(m, fmaF32(f(0.1), g, f(m0 * f(0.9))));
  assert.notEqual(m, f(f(m0 * f(0.9)) + f(f(0.1) * g)));
  tf.dispose([g2, w]);
  adam.dispose();
});

test('no tensors leak: the count is flat across steps, state() and loadState()', () => {
  const v = makeParams(Object.fromEntries(NAMES.map((n) => [n, fixture.initial[n].data])), fixtureShapes());
  const adam = makeAdam(v);
  const grads = stepGrads(v, fixture.steps[0]);
  const start = tf.memory().numTensors;
  adam.step(grads);
  const afterOne = tf.memory().numTensors;
  assert.equal(afterOne, start, 'the first step adds no tensors');
  for (let k = 0; k < 5; k++) adam.step(grads);
  adam.loadState(adam.state());
  adam.setLearningRates(0.5);
  adam.step(grads);
  assert.equal(tf.memory().numTensors, start);
  tf.dispose(Object.values(grads));
  adam.dispose();
  tf.dispose(Object.values(v));
});

test('setLearningRates: a factor of the base rates, or named groups', () => {
  const w = tf.variable(tf.zeros([2]), true, `adam_test_lr_${serial++}`);
  const u = tf.variable(tf.zeros([1]), true, `adam_test_lr_${serial++}`);
  const adam = new Adam([
    { name: 'bound', learningRate: 1e-2, params: [['u', u]] },
    { name: 'base', learningRate: 1e-4, params: [['w', w]] },
  ]);
  adam.setLearningRates(0.25);
  assert.deepEqual(adam.learningRates(), { bound: 2.5e-3, base: 2.5e-5 });
  adam.setLearningRates({ base: 3e-4 });
  assert.deepEqual(adam.learningRates(), { bound: 2.5e-3, base: 3e-4 });
  assert.throws(() => adam.setLearningRates({ bounds: 1 }), /no parameter group 'bounds' \(groups: bound, base\)/);
  assert.deepEqual(adam.variables().map((x) => x.name), [u.name, w.name]);
  assert.deepEqual(adam.paramNames(), { bound: ['u'], base: ['w'] });
  adam.dispose();
  assert.throws(() => adam.step({}), /after dispose/);
  tf.dispose([w, u]);
});

test('constructor rejects duplicate names and variables', () => {
  const w = tf.variable(tf.zeros([2]), true, `adam_test_dup_${serial++}`);
  assert.throws(() => new Adam([{ name: 'a', learningRate: 1, params: [['w', w]] }, { name: 'a', learningRate: 1, params: [] }]), /group 'a' given twice/);
  assert.throws(() => new Adam([{ name: 'a', learningRate: 1, params: [['w', w], ['w2', w]] }]), /variable .* \(w2\) is in more than one place/);
  assert.throws(() => new Adam([{ name: 'a', learningRate: 1, params: [['w', w]] }], { betas: [1, 0.999] }), /beta1 must be in \[0, 1\)/);
  tf.dispose(w);
});
