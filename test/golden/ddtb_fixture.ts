/**
 * Reading and comparing the official-code fixtures (../shared/fixtures/ddtb-official, see its
 * README): JSON files with NCHW/OIHW tensors, converted here, at the test boundary, to the library's
 * NHWC/HWIO. Shared by the parity suite (ddtb_official.test.ts) and the edsr_forward handler.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../helpers';
import type { StateDict } from '../../lib/nn/module';

export interface FixtureTensor {
  readonly shape: number[];
  readonly dtype: 'float64' | 'float32' | 'int64';
  readonly data: number[];
}

export interface Fixture {
  readonly case: string;
  readonly description: string;
  readonly dtype: 'f64' | 'f32';
  readonly layout: 'NCHW';
  readonly meta: Record<string, unknown>;
  readonly tensors: Record<string, FixtureTensor>;
  readonly scalars: Record<string, unknown>;
}

/** The fixture folder: DDTB_FIXTURES relative to the repository root, default ../shared/fixtures/ddtb-official. */
export function fixtureDir(): string {
  return path.resolve(repoRoot, process.env.DDTB_FIXTURES ?? '../shared/fixtures/ddtb-official');
}

/** Every *.json of the fixture folder, sorted by file name. Throws if the folder is missing or empty. */
export function fixtureFiles(dir = fixtureDir()): string[] {
  if (!fs.existsSync(dir)) throw new Error(`fixture folder not found: ${dir} (set DDTB_FIXTURES)`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no *.json fixtures in ${dir}`);
  return files.map((f) => path.join(dir, f));
}

export function readFixture(file: string): Fixture {
  const fx = JSON.parse(fs.readFileSync(file, 'utf8')) as Fixture;
  if (typeof fx.case !== 'string' || !fx.tensors || !fx.scalars) throw new Error(`${file}: not a DDTB fixture (case/tensors/scalars missing)`);
  if (fx.layout !== 'NCHW') throw new Error(`${file}: layout ${fx.layout}, expected NCHW`);
  return fx;
}

/** The name a fixture is registered under: `<case>_<dtype>`, e.g. `quant_static_k2_f32`. */
export function fixtureName(fx: Fixture): string {
  return `${fx.case}_${fx.dtype}`;
}

export function tensorOf(fx: Fixture, name: string): FixtureTensor {
  const t = fx.tensors[name];
  if (!t) throw new Error(`${fixtureName(fx)}: tensor '${name}' missing`);
  return t;
}

export function scalarOf<T = number>(fx: Fixture, name: string): T {
  if (!(name in fx.scalars)) throw new Error(`${fixtureName(fx)}: scalar '${name}' missing`);
  return fx.scalars[name] as T;
}

/** Host NCHW [N,C,H,W] -> NHWC [N,H,W,C] (rank 4 only; other ranks unchanged). */
export function nchwToNhwc(t: FixtureTensor): { shape: number[]; data: Float64Array } {
  const src = Float64Array.from(t.data);
  if (t.shape.length !== 4) return { shape: [...t.shape], data: src };
  const [n, c, h, w] = t.shape;
  const out = new Float64Array(src.length);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    out[((i * h + y) * w + x) * c + ch] = src[((i * c + ch) * h + y) * w + x];
  }
  return { shape: [n, h, w, c], data: out };
}

/** A fixture activation tensor as a float32 tf tensor, NHWC for rank 4. */
export function activation(fx: Fixture, name: string): tf.Tensor {
  const { shape, data } = nchwToNhwc(tensorOf(fx, name));
  return tf.tensor(Float32Array.from(data), shape, 'float32');
}

/** A fixture conv filter OIHW [O,I,kh,kw] as HWIO [kh,kw,I,O] float32. */
export function filterHwio(fx: Fixture, name: string): tf.Tensor4D {
  const t = tensorOf(fx, name);
  if (t.shape.length !== 4) throw new Error(`${fixtureName(fx)}: ${name} is not a conv filter`);
  return tf.tidy(() => tf.transpose(tf.tensor4d(Float32Array.from(t.data), t.shape as [number, number, number, number]), [2, 3, 1, 0]));
}

/** Expected values in the library layout (NHWC for rank 4), float64 host array. */
export function expectedNhwc(fx: Fixture, name: string): Float64Array {
  return nchwToNhwc(tensorOf(fx, name)).data;
}

/** Expected conv-filter values in HWIO order, float64 host array. */
export function expectedHwio(fx: Fixture, name: string): Float64Array {
  const t = tensorOf(fx, name);
  const [o, i, kh, kw] = t.shape;
  const out = new Float64Array(t.data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * i + b) * o + a] = t.data[((a * i + b) * kh + y) * kw + x];
  }
  return out;
}

/** Official-layout state-dict entries from fixture tensors: `stateName -> fixture tensor name`. */
export function stateDictFrom(fx: Fixture, names: ReadonlyMap<string, string>): StateDict {
  const sd: StateDict = new Map();
  for (const [key, tensorName] of names) {
    const t = tensorOf(fx, tensorName);
    if (t.dtype === 'int64') sd.set(key, { shape: t.shape, dtype: 'int64', data: BigInt64Array.from(t.data.map((v) => BigInt(v))) });
    else sd.set(key, { shape: t.shape, dtype: 'float32', data: Float32Array.from(t.data) });
  }
  return sd;
}

/**
 * The value tolerance of issue 3: |a - b| <= 1e-6 * max|b| + 1e-5 * |b| (float32 arithmetic in a
 * different operation order; max|b| over the whole tensor gives the absolute floor).
 */
export function withinTolerance(actual: ArrayLike<number>, expected: ArrayLike<number>): { ok: boolean; bad: number; worst: number; worstAt: number; maxAbs: number } {
  assert.equal(actual.length, expected.length, 'length');
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  let bad = 0;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const tol = 1e-6 * maxAbs + 1e-5 * Math.abs(expected[i]);
    if (!(err <= tol)) bad++;
    const ratio = tol > 0 ? err / tol : err > 0 ? Infinity : 0;
    if (ratio > worst || Number.isNaN(ratio)) { worst = ratio; worstAt = i; }
  }
  return { ok: bad === 0, bad, worst, worstAt, maxAbs };
}

/** Asserts the value tolerance, with a message naming the case, the tensor and the worst element. */
export function assertClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const r = withinTolerance(actual, expected);
  if (!r.ok) {
    assert.fail(`${label}: ${r.bad}/${expected.length} elements outside |a-b| <= 1e-6 max|b| + 1e-5 |b| `
      + `(worst at ${r.worstAt}: got ${actual[r.worstAt]}, expected ${expected[r.worstAt]}, ${r.worst.toFixed(2)}x the tolerance)`);
  }
}

/** Host copy of a tf tensor as float64. */
export function host(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}
