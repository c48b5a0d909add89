/**
 * ddtbFakeQuant as a named tfjs kernel: what is registered (a composite for every backend the
 * library knows, one gradient), that the kernel reproduces the intermediates of ddtbQuantParts and
 * the asym99 weight quantizer's tie-split gradient, and that a process which loads the quantizer
 * only after choosing the backend, or runs with DDTB_NATIVE=0, gets the same bits. Runs with and
 * without the native addon.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { ddtbFakeQuant, ddtbQuantParts, tieSplitMask } from '../../lib/quant/ddtb_act';
import { percentileClipRange, quantizeWeightAsym99 } from '../../lib/quant/weight';
import { DdtbFakeQuant, DdtbFakeQuantGrad } from '../../lib/backend/kernels/ddtb_fake_quant';
import { repoRoot } from '../helpers';

const info = ensureBackend();

/** Deterministic values in [lo, hi) (32-bit LCG). */
function values(n: number, seed: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
}

test('DdtbFakeQuant and DdtbFakeQuantGrad are registered for the cpu and tensorflow backends, with one gradient', () => {
  for (const backend of ['cpu', 'tensorflow']) {
    for (const name of [DdtbFakeQuant, DdtbFakeQuantGrad]) assert.ok(tf.getKernel(name, backend), `${name} for ${backend}`);
  }
  const grad = tf.getGradient(DdtbFakeQuant);
  assert.deepEqual(grad.inputsToSave, ['x', 'upper', 'lower']);
  assert.deepEqual(grad.outputsToSave, [true]);
  assert.equal(tf.getGradient(DdtbFakeQuantGrad), undefined, 'the backward kernel itself is not differentiated');
});

test('the kernel output is ddtbQuantParts(...).output, bit for bit; d sum(x^)/dx is the tie-split mask', () => tf.tidy(() => {
  const x = tf.tensor4d(values(2 * 5 * 5 * 3, 1, -3, 3), [2, 5, 5, 3]);
  const u = tf.tensor4d([2.3, 1.1], [2, 1, 1, 1]), l = tf.tensor1d([-1.7]);
  sameBits(ddtbFakeQuant(x, u, l, 2).dataSync(), ddtbQuantParts(x, u, l, 2).output.dataSync(), 'forward');
  const g = tf.grad((a: tf.Tensor) => tf.sum(ddtbFakeQuant(a, u, l, 2)))(x);
  sameBits(g.dataSync(), tieSplitMask(x, u, l).dataSync(), 'dx');
}));

test('asym99 through the kernel: the DDTB grid over [P1, P99] and the tie-split gradient, bit for bit', () => {
  // 201 weights: P1 and P99 are elements, so one weight ties with each bound.
  const w = tf.variable(tf.tensor4d(values(201, 7, -0.2, 0.2), [1, 1, 3, 67]));
  const g = tf.tensor4d(values(201, 8, -1, 1), [1, 1, 3, 67]);
  const { lo, hi } = percentileClipRange(w);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(g, quantizeWeightAsym99(w, 2))) as tf.Scalar, [w]);
  tf.tidy(() => {
    sameBits(quantizeWeightAsym99(w, 2).dataSync(), ddtbQuantParts(w, tf.scalar(hi), tf.scalar(lo), 2).output.dataSync(), 'asym99 forward');
    const mask = tieSplitMask(w, tf.scalar(hi), tf.scalar(lo));
    assert.equal(Array.from(mask.dataSync()).filter((v) => v === 0.5).length, 2, 'one tie with each bound');
    sameBits(grads[w.name].dataSync(), tf.mul(g, mask).dataSync(), 'asym99 gradient');
  });
  tf.dispose([w, g, value, ...Object.values(grads)]);
});

/** Runs `code` in a child process (ts-node) and returns its last stdout line parsed as JSON. */
function child(code: string, env: Record<string, string>): { native: boolean; kernels: string[]; sums: number[] } {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code],
    { cwd: repoRoot, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

/** Forward and gradients of one fixed case, as host-side bit patterns, in a child or here. */
const caseCode = `
  const x = tf.variable(tf.tensor4d(Float32Array.from({ length: 4 * 6 * 6 * 8 }, (_, i) => Math.fround(Math.sin(i * 0.37) * 3)), [4, 6, 6, 8]));
  const u = tf.variable(tf.tensor4d([2.5, 1.5, 2, 3], [4, 1, 1, 1])), l = tf.variable(tf.tensor1d([-1.25]));
  const out = ddtbFakeQuant(x, u, l, 2);
  const r = tf.variableGrads(() => tf.sum(tf.mul(tf.cos(x), ddtbFakeQuant(x, u, l, 2))), [x, u, l]);
  const bits = (t) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
  const sums = [out, r.grads[x.name], r.grads[u.name], r.grads[l.name]].flatMap(bits);
  tf.dispose([x, u, l, out, r.value, ...Object.values(r.grads)]);`;

test('loaded after the backend is chosen, or with DDTB_NATIVE=0: the same bits', () => {
  const late = `
    const tf = require('@tensorflow/tfjs');
    const info = require('./lib/backend').ensureBackend();
    const { ddtbFakeQuant } = require('./lib/quant/ddtb_act');
    const { kernelCalls } = require('./lib/backend/native');
    ${caseCode}
    console.log(JSON.stringify({ native: (kernelCalls().get('DdtbFakeQuant') || { native: 0 }).native > 0, kernels: info.native.kernels, sums }));`;
  const lateRun = child(late, {});
  const pureRun = child(late, { DDTB_NATIVE: '0' });
  assert.equal(pureRun.native, false);
  assert.equal(lateRun.native, info.native.loaded, 'a kernel defined after ensureBackend() is still served natively');
  assert.equal(lateRun.kernels.includes(DdtbFakeQuant), info.native.loaded, 'and reported');
  // here: this process loaded the quantizer before choosing the backend
  const here = new Function('tf', 'ddtbFakeQuant', `${caseCode}; return sums;`)(tf, ddtbFakeQuant) as number[];
  assert.deepEqual(lateRun.sums, here, 'late registration: same bits as here');
  assert.deepEqual(pureRun.sums, here, 'DDTB_NATIVE=0: same bits as here');
});
