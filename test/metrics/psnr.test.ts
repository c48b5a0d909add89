import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { psnr, meanSquaredError, psnrFromMse } from '../../lib/metrics/psnr';

const filled = (n: number, v: number) => new Float64Array(n).fill(v);

test('PSNR of two constant images one level apart is 20 log10(255) = 48.13 dB', () => {
  const p = psnr(filled(64, 100), filled(64, 101), 8, 8);
  assert.ok(Math.abs(p - 48.1308036087) < 1e-9, `got ${p}`);
  assert.ok(Math.abs(psnr(filled(64, 100), filled(64, 101), 8, 8, 2) - p) < 1e-12, 'a shave does not change a constant error');
});

test('MSE by hand, with and without a border shave; identical planes give Infinity', () => {
  // 4x4, a single differing pixel of 4 levels at the corner (0, 0): MSE 16/16 = 1 whole, 0 after a shave of 1.
  const a = filled(16, 50), b = filled(16, 50);
  b[0] = 54;
  assert.equal(meanSquaredError(a, b, 4, 4), 1);
  assert.equal(meanSquaredError(a, b, 4, 4, 1), 0);
  assert.equal(psnr(a, b, 4, 4, 1), Infinity);
  b[5] = 52; // pixel (1, 1): inside the 2x2 core
  assert.equal(meanSquaredError(a, b, 4, 4, 1), 1);
  assert.ok(Math.abs(psnrFromMse(255 * 255) - 0) < 1e-12);
  assert.ok(Math.abs(psnrFromMse(2) - (48.1308036087 - 10 * Math.log10(2))) < 1e-9);
});

test('PSNR errors name the problem', () => {
  assert.throws(() => psnr(filled(16, 0), filled(15, 0), 4, 4), /do not match 4x4/);
  assert.throws(() => psnr(filled(16, 0), filled(16, 0), 4, 4, 2), /shave of 2 leaves nothing of a 4x4 image/);
  assert.throws(() => psnr(filled(16, 0), filled(16, 0), 4, 4, -1), /non-negative integer/);
});
