import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { readImage } from '../../lib/data/image';
import { RgbImage } from '../../lib/data/image_types';
import { toUint8Image, scorePair, shaveFor } from '../../lib/metrics/evaluate';
import { upscaleBicubic } from '../../lib/metrics/resize';
import { DEFAULT_PROTOCOL, EvalProtocol, emptyResult, addImageScore, imageScore } from '../../lib/metrics/result';
import { dataRootForTests, repoRoot } from '../helpers';

const Y: EvalProtocol = DEFAULT_PROTOCOL;
const RAW: EvalProtocol = { ...DEFAULT_PROTOCOL, gray: 'raw' };
const RGB: EvalProtocol = { ...DEFAULT_PROTOCOL, channel: 'rgb' };

/** w x h image whose pixel (x, y) is f(x, y) (an RGB triple). */
function makeImage(w: number, h: number, f: (x: number, y: number) => number[], gray = false): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { width: w, height: h, data, gray };
}

test('toUint8Image rounds half to even (torch.round), then clamps to 0..255', () => {
  const values = Float32Array.from([0.5, 1.5, 2.5, -3, 300, 254.5, 253.5, -0.5, 127.49, 3.5, 0.49999, 7.75]);
  assert.deepEqual([...toUint8Image(values, 2, 2).data], [0, 2, 2, 0, 255, 254, 254, 0, 127, 4, 0, 8]);
  const img = toUint8Image(new Float64Array(3).fill(9.5), 1, 1, true);
  assert.deepEqual([img.width, img.height, img.gray, ...img.data], [1, 1, true, 10, 10, 10]);
  assert.throws(() => toUint8Image(new Float32Array(5), 1, 2), /5 values do not make a 1x2x3 image/);
  assert.throws(() => toUint8Image(Float32Array.from([1, NaN, 3]), 1, 1), /value 1 is NaN/);
});

test('scorePair: identical -> psnr null, identical, SSIM 1; HR is cropped to the SR size', () => {
  const hr = makeImage(30, 27, (x, y) => [(x * 7 + y) % 256, (x * y) % 256, (3 * x + 5 * y) % 256]);
  const sr = makeImage(28, 24, (x, y) => [(x * 7 + y) % 256, (x * y) % 256, (3 * x + 5 * y) % 256]);
  assert.deepEqual(scorePair(sr, hr, 4, Y), { psnr: null, ssim: 1, identical: true });
  assert.throws(() => scorePair(hr, sr, 4, Y), /SR 30x27 is larger than HR 28x24/);
});

test('scorePair channels by hand: a one-level red error is 65.481/255 in Y; RGB MSE is 1/3', () => {
  const hr = makeImage(20, 20, () => [10, 20, 30]);
  const sr = makeImage(20, 20, () => [11, 20, 30]);
  const y = scorePair(sr, hr, 2, Y), rgb = scorePair(sr, hr, 2, RGB);
  const peak = 20 * Math.log10(255);
  assert.ok(Math.abs(y.psnr! - (peak - 20 * Math.log10(65.481 / 255))) < 1e-9, `Y-PSNR ${y.psnr}`);
  assert.ok(Math.abs(rgb.psnr! - (peak + 10 * Math.log10(3))) < 1e-9, `RGB-PSNR ${rgb.psnr}`);
  assert.equal(rgb.ssim, y.ssim, "channel 'rgb' keeps SSIM on Y");
});

test('scorePair shave: errors only in the border disappear with shave = scale, not with shave 0', () => {
  const hr = makeImage(24, 24, (x, y) => [x * 9, y * 9, 100]);
  const sr = makeImage(24, 24, (x, y) => (x < 3 || y > 20 ? [0, 0, 0] : [x * 9, y * 9, 100]));
  assert.equal(shaveFor(Y, 3), 3);
  assert.equal(scorePair(sr, hr, 3, Y).identical, true);
  assert.equal(scorePair(sr, hr, 3, { ...Y, shave: 0 }).identical, false);
  assert.equal(scorePair(sr, hr, 2, Y).identical, false);
});

test("gray 'raw' scores a gray HR on its own values: 20 log10(255/219) dB below 'replicate'", () => {
  const gray = (v: number) => [v, v, v];
  const hr = makeImage(26, 22, (x, y) => gray((x * 11 + y * 5) % 256), true);
  const sr = makeImage(26, 22, (x, y) => gray(Math.min(255, ((x * 11 + y * 5) % 256) + ((x + y) % 3))), true);
  const rep = scorePair(sr, hr, 2, Y), raw = scorePair(sr, hr, 2, RAW);
  assert.ok(Math.abs(rep.psnr! - raw.psnr! - 20 * Math.log10(255 / 219)) < 1e-9, `replicate ${rep.psnr}, raw ${raw.psnr}`);
  const colourHr = { ...hr, gray: false };
  assert.deepEqual(scorePair(sr, colourHr, 2, RAW), scorePair(sr, colourHr, 2, Y), "'raw' changes nothing for an RGB file");
});

interface Literature { sets: Record<string, Record<string, { psnr: number; ssim: number }>>; tolerance: { psnr_db: number; ssim: number } }
interface Set5Reference { psnr: Record<string, number>; tolerance: { psnr_db: number } }
const golden = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'golden', file), 'utf8')) as T;

test('GOLDEN: bicubic up-scaling of the Set5 standard LR files matches the reference and the published row', async () => {
  const lit = golden<Literature>('metrics_bicubic_literature.json');
  const ref = golden<Set5Reference>('metrics_bicubic_set5_reference.json');
  const set5 = path.join(dataRootForTests(), 'Set5');
  const result = emptyResult(Y);
  for (const name of ['baby', 'bird', 'butterfly', 'head', 'woman']) {
    const hr = await readImage(path.join(set5, 'HR', `${name}.png`));
    for (const s of [2, 3, 4]) {
      const lr = await readImage(path.join(set5, 'LR_bicubic', `X${s}`, `${name}x${s}.png`));
      const score = scorePair(upscaleBicubic(lr, s), hr, s, Y);
      addImageScore(result, 'Set5', s, imageScore(name, score.psnr, score.ssim));
    }
  }
  for (const [s, want] of Object.entries(ref.psnr)) {
    const got = result.sets.Set5[s].psnr!;
    assert.ok(Math.abs(got - want) <= ref.tolerance.psnr_db, `Set5 x${s}: ${got.toFixed(4)} dB, reference ${want}`);
  }
  for (const [s, want] of Object.entries(lit.sets.Set5)) {
    const got = result.sets.Set5[s];
    assert.equal(got.count, 5);
    assert.ok(Math.abs(got.psnr! - want.psnr) <= lit.tolerance.psnr_db, `Set5 x${s}: ${got.psnr!.toFixed(4)} dB, published ${want.psnr}`);
    assert.ok(Math.abs(got.ssim - want.ssim) <= lit.tolerance.ssim, `Set5 x${s}: SSIM ${got.ssim.toFixed(5)}, published ${want.ssim}`);
  }
});
