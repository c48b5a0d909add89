import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DIHEDRAL_TRANSFORMS, Dihedral, PatchSampler, PatchSource, batchTensors, drawPatch, writePatch } from '../../lib/data/patches';
import { Prng } from '../../lib/data/prng';
import { openTrainingSet } from '../../lib/data/datasets';
import { RgbImage } from '../../lib/data/image';
import { ensureBackend } from '../../lib/backend';
import { dataRootForTests } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-patches-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** HR whose pixel (x, y) encodes its coordinates: (2x, 2y, 2(x + y) + tag). w, h <= 64. */
function coordHR(w: number, h: number, tag = 0): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([2 * x, 2 * y, 2 * (x + y) + tag], (y * w + x) * 3);
  return { width: w, height: h, data, gray: false };
}

/**
 * The exact s x s block average of `hr` (cropped to a multiple of s). With coordHR every average is
 * an integer (2 s X + s - 1 for the first channel), so nothing is rounded: checked here.
 */
function blockAverage(hr: RgbImage, s: number): RgbImage {
  const w = Math.floor(hr.width / s), h = Math.floor(hr.height / s);
  const data = new Uint8Array(w * h * 3);
  for (let Y = 0; Y < h; Y++) for (let X = 0; X < w; X++) for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) sum += hr.data[((Y * s + dy) * hr.width + X * s + dx) * 3 + c];
    assert.equal(sum % (s * s), 0);
    data[(Y * w + X) * 3 + c] = sum / (s * s);
  }
  return { width: w, height: h, data, gray: false };
}

function pairOf(name: string, w: number, h: number, s: number, tag = 0): PatchSource {
  const full = coordHR(w, h, tag);
  const lr = blockAverage(full, s);
  const hrData = new Uint8Array(lr.width * s * lr.height * s * 3);
  for (let y = 0; y < lr.height * s; y++) hrData.set(full.data.subarray(y * w * 3, (y * w + lr.width * s) * 3), y * lr.width * s * 3);
  return { name, lr, hr: { width: lr.width * s, height: lr.height * s, data: hrData, gray: false } };
}

/** Reference transform, written independently of writePatch: crop, then hflip, vflip, transpose as array operations. */
function referencePatch(img: RgbImage, x0: number, y0: number, size: number, aug: Dihedral): number[] {
  let rows: number[][][] = [];
  for (let r = 0; r < size; r++) {
    const row: number[][] = [];
    for (let c = 0; c < size; c++) row.push([...img.data.subarray(((y0 + r) * img.width + x0 + c) * 3, ((y0 + r) * img.width + x0 + c) * 3 + 3)]);
    rows.push(row);
  }
  if (aug.hflip) rows = rows.map((row) => [...row].reverse());
  if (aug.vflip) rows = [...rows].reverse();
  if (aug.transpose) rows = rows[0].map((_, c) => rows.map((row) => row[c]));
  return rows.flat(2);
}

/** Checks that every LR pixel of the patch is the average of its s x s HR block (so the pair is aligned). */
function assertAligned(lr: Float32Array, lrOffset: number, hr: Float32Array, hrOffset: number, q: number, s: number, what: string): void {
  const p = q * s;
  for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let di = 0; di < s; di++) for (let dj = 0; dj < s; dj++) sum += hr[hrOffset + ((i * s + di) * p + j * s + dj) * 3 + c];
    const want = lr[lrOffset + (i * q + j) * 3 + c];
    if (sum / (s * s) !== want) assert.fail(`${what}: LR (${j}, ${i}) channel ${c} is ${want} but its HR block averages ${sum / (s * s)}`);
  }
}

test('each of the 8 dihedral transforms matches an independent reference and keeps LR/HR aligned', () => {
  assert.equal(new Set(DIHEDRAL_TRANSFORMS.map((d) => JSON.stringify(d))).size, 8);
  for (const s of [2, 3, 4]) {
    const pair = pairOf('coords', 40, 36, s);
    const q = 6, p = q * s;
    const outputs = new Set<string>();
    for (const aug of DIHEDRAL_TRANSFORMS) {
      for (const [x, y] of [[0, 0], [pair.lr.width - q, pair.lr.height - q], [2, 3]]) {
        const lr = new Float32Array(q * q * 3), hr = new Float32Array(p * p * 3);
        writePatch(pair.lr, x, y, q, aug, lr, 0);
        writePatch(pair.hr, x * s, y * s, p, aug, hr, 0);
        assert.deepEqual([...lr], referencePatch(pair.lr, x, y, q, aug));
        assert.deepEqual([...hr], referencePatch(pair.hr, x * s, y * s, p, aug));
        assertAligned(lr, 0, hr, 0, q, s, `x${s} ${JSON.stringify(aug)} at (${x}, ${y})`);
        if (x === 2) outputs.add(hr.join(','));
      }
    }
    assert.equal(outputs.size, 8, 'the 8 transforms give 8 different patches');
  }
  // Hand-checked corner: hflip only, HR patch of 4 at (8, 6) on coordHR: output (0, 0) is source (11, 6) = (22, 12, 34).
  const hr = coordHR(20, 20), out = new Float32Array(4 * 4 * 3);
  writePatch(hr, 8, 6, 4, { hflip: true, vflip: false, transpose: false }, out, 0);
  assert.deepEqual([...out.subarray(0, 3)], [22, 12, 34]);
  // Transpose only: output (1, 0) reads source (8, 7) = (16, 14, 30).
  writePatch(hr, 8, 6, 4, { hflip: false, vflip: false, transpose: true }, out, 0);
  assert.deepEqual([...out.subarray(3, 6)], [16, 14, 30]);
});

test('the alignment check catches an HR crop off by one pixel', () => {
  const pair = pairOf('coords', 40, 36, 2);
  const lr = new Float32Array(6 * 6 * 3), hr = new Float32Array(12 * 12 * 3);
  const aug = DIHEDRAL_TRANSFORMS[0];
  writePatch(pair.lr, 3, 3, 6, aug, lr, 0);
  writePatch(pair.hr, 7, 6, 12, aug, hr, 0);
  assert.throws(() => assertAligned(lr, 0, hr, 0, 6, 2, 'off by one'), /off by one: LR/);
});

test('drawPatch: five draws in a fixed order, positions in range, the 8 transforms about equally often', () => {
  const a = Prng.fromSeed(3), b = Prng.fromSeed(3);
  const d = drawPatch(a, 30, 20, 8);
  assert.deepEqual(d, { x: b.nextInt(23), y: b.nextInt(13), aug: { hflip: b.nextFloat() < 0.5, vflip: b.nextFloat() < 0.5, transpose: b.nextFloat() < 0.5 } });
  assert.equal(a.nextUint32(), b.nextUint32());
  const counts = new Array(8).fill(0);
  let maxX = 0, maxY = 0;
  const rng = Prng.fromSeed(11);
  for (let i = 0; i < 8000; i++) {
    const { x, y, aug } = drawPatch(rng, 30, 20, 8);
    assert.ok(x >= 0 && x <= 22 && y >= 0 && y <= 12);
    maxX = Math.max(maxX, x); maxY = Math.max(maxY, y);
    counts[Number(aug.hflip) + 2 * Number(aug.vflip) + 4 * Number(aug.transpose)]++;
  }
  assert.deepEqual([maxX, maxY], [22, 12]);
  // Each count is Binomial(8000, 1/8): mean 1000, sd 29.6; allow 5 sd.
  for (const c of counts) assert.ok(Math.abs(c - 1000) < 148, `transform counts ${counts}`);
});

test('sampler batches: NHWC float32 on 0..255, aligned, deterministic for a seed', () => {
  const pairs = [pairOf('a', 40, 36, 2, 1), pairOf('b', 48, 40, 2, 2), pairOf('c', 32, 32, 2, 3)];
  const config = { scale: 2, patchSizeHR: 16, batchSize: 5, seed: 1 };
  const s1 = new PatchSampler(pairs, config), s2 = new PatchSampler(pairs, config);
  const other = new PatchSampler(pairs, { ...config, seed: 2 });
  assert.equal(s1.patchSizeLR, 8);
  let differs = false;
  for (let k = 0; k < 6; k++) {
    const b1 = s1.nextBatch(), b2 = s2.nextBatch(), b3 = other.nextBatch();
    assert.equal(b1.lr.length, 5 * 8 * 8 * 3);
    assert.equal(b1.hr.length, 5 * 16 * 16 * 3);
    assert.deepEqual(b1.lr, b2.lr);
    assert.deepEqual(b1.hr, b2.hr);
    assert.deepEqual(b1.images, b2.images);
    if (b1.hr.some((v, i) => v !== b3.hr[i])) differs = true;
    for (let n = 0; n < 5; n++) {
      assertAligned(b1.lr, n * 192, b1.hr, n * 768, 8, 2, `batch ${k} patch ${n}`);
      // The B channel's tag (2(x + y) + tag is odd only for tag 1 and 3, even for 2) ties the patch to its image.
      const tag = { a: 1, b: 2, c: 3 }[b1.images[n] as 'a' | 'b' | 'c'];
      assert.equal((b1.hr[n * 768 + 2] - tag) % 2, 0);
    }
    assert.ok(b1.hr.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  }
  assert.ok(differs, 'another seed gives other batches');
});

test('epoch order: each image `repeat` times per epoch, in a new random order each epoch', () => {
  const pairs = [pairOf('a', 20, 20, 2), pairOf('b', 20, 20, 2), pairOf('c', 20, 20, 2)];
  const sampler = new PatchSampler(pairs, { scale: 2, patchSizeHR: 8, batchSize: 6, seed: 4, repeat: 2 });
  const orders: string[] = [];
  for (let e = 1; e <= 6; e++) {
    const batch = sampler.nextBatch();
    assert.deepEqual([...batch.images].sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
    assert.equal(sampler.samplerState().epoch, e);
    orders.push(batch.images.join(''));
  }
  assert.ok(new Set(orders).size > 1, `orders ${orders}`);
});

test('save and restore mid-epoch (through JSON) gives the same following batches', () => {
  const pairs = [pairOf('a', 40, 36, 3), pairOf('b', 48, 42, 3), pairOf('c', 30, 33, 3)];
  const config = { scale: 3, patchSizeHR: 12, batchSize: 4, seed: 77, repeat: 3 };
  const original = new PatchSampler(pairs, config);
  for (let k = 0; k < 3; k++) original.nextBatch();
  const saved = JSON.parse(JSON.stringify(original.samplerState()));
  assert.ok(saved.position > 0 && saved.position < saved.order.length, 'saved in the middle of an epoch');
  const expected = Array.from({ length: 5 }, () => original.nextBatch());

  const resumed = new PatchSampler(pairs, config);
  resumed.nextBatch(); // its own position does not matter: restore replaces it
  resumed.restore(saved);
  for (const want of expected) {
    const got = resumed.nextBatch();
    assert.deepEqual(got.images, want.images);
    assert.deepEqual(got.lr, want.lr);
    assert.deepEqual(got.hr, want.hr);
  }
  assert.deepEqual(resumed.samplerState(), original.samplerState());

  const two = new PatchSampler(pairs.slice(0, 2), config);
  assert.throws(() => two.restore(saved), /state was saved over 3 images, this sampler has 2/);
  assert.throws(() => resumed.restore({ ...saved, rng: [0, 0, 0, 0] }), /not a valid xoshiro128\*\* state/);
  assert.throws(() => resumed.restore({ ...saved, position: 99 }), /position 99 is outside its order of 9/);
});

test('images smaller than the HR patch are skipped with one warning naming them', () => {
  const pairs = [pairOf('big', 40, 40, 2), pairOf('tiny', 10, 12, 2), pairOf('narrow', 14, 40, 2), pairOf('ok', 16, 16, 2)];
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => { warnings.push(msg); };
  let sampler: PatchSampler;
  try {
    sampler = new PatchSampler(pairs, { scale: 2, patchSizeHR: 16, batchSize: 8, seed: 1 });
    for (let k = 0; k < 5; k++) for (const name of sampler.nextBatch().images) assert.ok(name === 'big' || name === 'ok', name);
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0], 'patch sampler: skipping 2 of 4 images smaller than the 16x16 HR patch: tiny (10x12), narrow (14x40)');
  assert.deepEqual(sampler.skipped, ['tiny', 'narrow']);
  assert.equal(sampler.imageCount, 2);
  console.warn = () => {};
  try {
    assert.throws(() => new PatchSampler([pairs[1]], { scale: 2, patchSizeHR: 16, batchSize: 1, seed: 1 }), /no image is at least 16x16/);
  } finally {
    console.warn = warn;
  }
  assert.throws(() => new PatchSampler(pairs, { scale: 3, patchSizeHR: 16, batchSize: 1, seed: 1 }), /patchSizeHR 16 must be a positive multiple of the scale 3/);
  const mismatched = { name: 'odd', hr: coordHR(20, 20), lr: coordHR(9, 10) };
  assert.throws(() => new PatchSampler([mismatched], { scale: 2, patchSizeHR: 8, batchSize: 1, seed: 1 }), /image odd: HR 20x20 and LR 9x10 do not match at scale 2/);
});

test('T91 at x2 with the 96-pixel HR patch skips only t20 (78x78) and yields aligned-size batches', async () => {
  const set = openTrainingSet({ root: dataRootForTests(), name: 'T91', scale: 2, cacheDir: path.join(tmp, 'cache') });
  const pairs = await set.loadAll();
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => { warnings.push(msg); };
  let sampler: PatchSampler;
  try {
    sampler = new PatchSampler(pairs, { scale: 2, patchSizeHR: 96, batchSize: 4, seed: 1 });
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, ['patch sampler: skipping 1 of 91 images smaller than the 96x96 HR patch: t20 (78x78)']);
  assert.equal(sampler.imageCount, 90);
  const batch = sampler.nextBatch();
  assert.equal(batch.lr.length, 4 * 48 * 48 * 3);
  assert.equal(batch.hr.length, 4 * 96 * 96 * 3);
  assert.ok(!batch.images.includes('t20'));
});

test('batchTensors makes [N,p/s,p/s,3] and [N,p,p,3] float32 tensors holding the batch', () => {
  ensureBackend();
  const sampler = new PatchSampler([pairOf('a', 40, 36, 4)], { scale: 4, patchSizeHR: 16, batchSize: 3, seed: 5 });
  const batch = sampler.nextBatch();
  const before = tf.memory().numTensors;
  const { lr, hr } = batchTensors(batch);
  try {
    assert.deepEqual(lr.shape, [3, 4, 4, 3]);
    assert.deepEqual(hr.shape, [3, 16, 16, 3]);
    assert.equal(lr.dtype, 'float32');
    assert.deepEqual(lr.dataSync(), batch.lr);
    assert.deepEqual(hr.dataSync(), batch.hr);
  } finally {
    lr.dispose();
    hr.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});
