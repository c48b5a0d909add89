import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ssim, gaussianWindow1d } from '../../lib/metrics/ssim';

/** A small seeded generator (mulberry32) so the random planes are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Independent reference: Wang et al.'s ssim_index written out directly, with a non-separable 11x11
 * window built as MATLAB's fspecial('gaussian', 11, 1.5) (2-D exponentials, normalised once), and the
 * five local statistics summed per window position. Slow, float64, for tiny planes only.
 */
function ssimReference(a: Float64Array, b: Float64Array, w: number, h: number): number {
  const win: number[] = [];
  let total = 0;
  for (let y = -5; y <= 5; y++) for (let x = -5; x <= 5; x++) { const v = Math.exp(-(x * x + y * y) / (2 * 1.5 * 1.5)); win.push(v); total += v; }
  const c1 = (0.01 * 255) ** 2, c2 = (0.03 * 255) ** 2;
  let sum = 0, count = 0;
  for (let y0 = 0; y0 + 11 <= h; y0++) for (let x0 = 0; x0 + 11 <= w; x0++) {
    let ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
    for (let dy = 0; dy < 11; dy++) for (let dx = 0; dx < 11; dx++) {
      const g = win[dy * 11 + dx] / total, i = (y0 + dy) * w + x0 + dx;
      ma += g * a[i]; mb += g * b[i]; saa += g * a[i] * a[i]; sbb += g * b[i] * b[i]; sab += g * a[i] * b[i];
    }
    const va = saa - ma * ma, vb = sbb - mb * mb, vab = sab - ma * mb;
    sum += ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
    count++;
  }
  return sum / count;
}

test('SSIM of identical planes is exactly 1', () => {
  const r = rng(1);
  const a = Float64Array.from({ length: 20 * 16 }, () => r() * 255);
  assert.equal(ssim(a, a.slice(), 20, 16), 1);
  assert.equal(ssim(a, a.slice(), 20, 16, 2), 1);
});

test('SSIM of two constant planes by hand: (2cd + C1) / (c^2 + d^2 + C1), C1 = (0.01*255)^2', () => {
  const s = ssim(new Float64Array(15 * 15).fill(100), new Float64Array(15 * 15).fill(110), 15, 15);
  const expected = (2 * 100 * 110 + 6.5025) / (100 * 100 + 110 * 110 + 6.5025);
  assert.ok(Math.abs(s - expected) < 1e-12, `got ${s}, expected ${expected}`);
});

test('the Gaussian window: 11 taps, sigma 1.5, sums to 1, symmetric, centre/edge ratio exp(25/4.5)', () => {
  const g = gaussianWindow1d();
  assert.equal(g.length, 11);
  assert.ok(Math.abs(g.reduce((x, y) => x + y, 0) - 1) < 1e-15);
  for (let i = 0; i < 11; i++) assert.equal(g[i], g[10 - i]);
  assert.ok(Math.abs(g[5] / g[0] - Math.exp(25 / 4.5)) < 1e-9);
});

test('SSIM agrees with a direct 2-D float64 implementation on random planes, with a shave', () => {
  const r = rng(7);
  const w = 23, h = 19;
  const a = Float64Array.from({ length: w * h }, () => Math.round(r() * 255));
  const b = a.map((v) => Math.min(255, Math.max(0, v + Math.round((r() - 0.5) * 60))));
  const ours = ssim(a, b, w, h);
  const ref = ssimReference(a, b, w, h);
  assert.ok(Math.abs(ours - ref) < 1e-12, `ours ${ours}, reference ${ref}`);
  assert.ok(ours > 0.2 && ours < 0.99, `a noisy copy scores in between (${ours})`);
  // Shave 3: the reference on the cut-out 17x13 core.
  const cut = (p: Float64Array) => Float64Array.from({ length: 17 * 13 }, (_, j) => p[(Math.floor(j / 17) + 3) * w + (j % 17) + 3]);
  assert.ok(Math.abs(ssim(a, b, w, h, 3) - ssimReference(cut(a), cut(b), 17, 13)) < 1e-12);
});

test('SSIM errors: a region smaller than the window, mismatched planes', () => {
  assert.throws(() => ssim(new Float64Array(100), new Float64Array(100), 10, 10), /10x10 is smaller than the 11x11 window/);
  assert.throws(() => ssim(new Float64Array(169), new Float64Array(169), 13, 13, 2), /9x9 is smaller/);
  assert.throws(() => ssim(new Float64Array(169), new Float64Array(168), 13, 13), /do not match 13x13/);
});
