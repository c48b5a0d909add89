/** lib/viz/crops: crops, the most detailed square, side-by-side composition. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cropImage, detailedRegion, sideBySide } from '../../lib/viz/crops';
import type { RgbImage } from '../../lib/data/image_types';

/** A w x h image whose pixel (x, y) is [x, y, x + 10 y] (mod 256). */
function ramp(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, (x + 10 * y) % 256], (y * w + x) * 3);
  return { width: w, height: h, data, gray: false };
}

test('cropImage copies the region; a region outside the image is a named error', () => {
  const c = cropImage(ramp(8, 6), { x: 2, y: 3, width: 3, height: 2 });
  assert.equal(c.width, 3);
  assert.equal(c.height, 2);
  assert.deepEqual(Array.from(c.data.subarray(0, 3)), [2, 3, 32]);
  assert.deepEqual(Array.from(c.data.subarray(15, 18)), [4, 4, 44]);
  assert.throws(() => cropImage(ramp(8, 6), { x: 6, y: 0, width: 3, height: 2 }), /region 3x2 at \(6,0\) does not fit in the 8x6 image/);
});

test('detailedRegion finds the textured square of a flat image', () => {
  const w = 32, h = 24;
  const data = new Uint8Array(w * h * 3).fill(100);
  // A checkerboard in the 8x8 square at (16, 8).
  for (let y = 8; y < 16; y++) for (let x = 16; x < 24; x++) data[(y * w + x) * 3 + 1] = (x + y) % 2 ? 200 : 0;
  const img: RgbImage = { width: w, height: h, data, gray: false };
  assert.deepEqual(detailedRegion(img, 8, 4), { x: 16, y: 8, width: 8, height: 8 });
  // On a flat image every square scores 0: the first one wins.
  assert.deepEqual(detailedRegion({ ...img, data: new Uint8Array(w * h * 3) }, 8), { x: 0, y: 0, width: 8, height: 8 });
  assert.throws(() => detailedRegion(img, 40), /a 40x40 square does not fit in the 32x24 image/);
});

test('sideBySide: one row, gaps of the background, shorter images padded below', () => {
  const a = ramp(2, 2);
  const b = ramp(3, 1);
  const row = sideBySide([a, b], 1, 7);
  assert.equal(row.width, 6);
  assert.equal(row.height, 2);
  const px = (x: number, y: number) => Array.from(row.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3));
  assert.deepEqual(px(1, 1), [1, 1, 11]);
  assert.deepEqual(px(2, 0), [7, 7, 7]);
  assert.deepEqual(px(5, 0), [2, 0, 2]);
  assert.deepEqual(px(4, 1), [7, 7, 7]);
  assert.throws(() => sideBySide([]), /no images/);
});
