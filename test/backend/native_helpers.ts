/**
 * Helpers for the native-kernel parity tests: deterministic inputs, the skip reason when the addon
 * is not loaded, running a kernel natively and through the saved pure-JS original, and comparisons.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { kernelCalls, withPureJsKernels } from '../../lib/backend/native';

/** `false` when native kernels are registered, else the reason (node:test prints it as the skip). */
export function nativeSkip(): false | string {
  const info = ensureBackend();
  if (info.native.loaded) return false;
  const reason = `native kernels not loaded: ${info.native.reason}`;
  console.log(`# ${reason}`);
  return reason;
}

/** Uniform values in [lo, hi) from a 32-bit LCG, so every run sees the same numbers. */
export function seededValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** A float32 tensor of `shape` with seeded values in [lo, hi). */
export function seeded(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape, 'float32');
}

/** Runs kernel `name` natively and with the pure-JS original; returns both outputs' values and shapes. */
export function bothWays(
  name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>,
): { native: tf.Tensor; js: tf.Tensor } {
  const run = () => tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  return { native: run(), js: withPureJsKernels(run) };
}

/** Native and fallback call counts of `name` while `fn` runs. */
export function countCalls<T>(name: string, fn: () => T): { native: number; fallback: number; result: T } {
  const before = { ...(kernelCalls().get(name) ?? { native: 0, fallback: 0 }) };
  const result = fn();
  const after = kernelCalls().get(name) ?? { native: 0, fallback: 0 };
  return { native: after.native - before.native, fallback: after.fallback - before.fallback, result };
}

/** Asserts identical results element by element (Object.is: +0 and -0 differ, NaN equals NaN). */
export function assertSameValues(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepStrictEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.strictEqual(actual.dtype, expected.dtype, `${what}: dtype`);
  const a = actual.dataSync(), e = expected.dataSync();
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i])) assert.fail(`${what}: element ${i} is ${a[i]}, pure JS gives ${e[i]}`);
  }
}

/** Unit roundoff of float32. */
export const float32Roundoff = 2 ** -24;

/**
 * Asserts |actual - expected| <= 2 * gamma(terms) * magnitude element-wise, gamma(k) = k*u / (1 - k*u):
 * the worst-case forward error bound of two float32 sums of `terms` products whose absolute values
 * add up to `magnitude` (each implementation is within gamma * magnitude of the exact value, in any
 * summation order, with or without FMA). Returns the largest |difference| / bound seen.
 */
export function assertWithinSummationBound(
  actual: tf.Tensor, expected: tf.Tensor, magnitude: tf.Tensor, terms: number, what: string,
): number {
  assert.deepStrictEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync(), e = expected.dataSync(), m = magnitude.dataSync();
  const ku = terms * float32Roundoff;
  const gamma = ku / (1 - ku);
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    // the magnitude is itself a float32 sum: allow for its own rounding
    const bound = 2 * gamma * m[i] * (1 + gamma) + 1e-37;
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= bound)) {
      assert.fail(`${what}: element ${i} is ${a[i]}, pure JS gives ${e[i]} (|diff| ${d} > bound ${bound}, ${terms} terms)`);
    }
    worst = Math.max(worst, d / bound);
  }
  return worst;
}

/** Runs `fn` with environment variable `name` set to `value` (unset for undefined), restoring it afterwards. */
export function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

/** Runs `step` once, then `repeats` more times, and asserts the tfjs tensor count stayed where the first left it. */
export function assertFlatTensorCounts(step: () => void, repeats = 5): void {
  step();
  const before = tf.memory().numTensors;
  for (let k = 0; k < repeats; k++) step();
  assert.strictEqual(tf.memory().numTensors, before, `tensor count after ${repeats + 1} steps`);
}
