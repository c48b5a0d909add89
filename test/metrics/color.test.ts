import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { rgbToY, channelPlane, grayPlane } from '../../lib/metrics/color';

const img = (pixels: number[][], gray = false) => ({ width: pixels.length, height: 1, data: new Uint8Array(pixels.flat()), gray });

test('rgbToY: BT.601 in MATLAB scaling, white 235, black 16, primaries by hand, unrounded', () => {
  const y = rgbToY(img([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]));
  const expected = [235, 16, 16 + 65.481, 16 + 128.553, 16 + 24.966, 16 + (654.81 + 2571.06 + 748.98) / 255];
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(y[i] - expected[i]) < 1e-12, `Y[${i}] = ${y[i]}, expected ${expected[i]}`);
  assert.ok(!Number.isInteger(y[5]), 'Y stays in double precision (31.5882...)');
});

test('channelPlane and grayPlane: one channel; gray values (the channel when all equal, else the mean)', () => {
  const im = img([[9, 9, 9], [0, 3, 6], [200, 100, 1]]);
  assert.deepEqual([...channelPlane(im, 0)], [9, 0, 200]);
  assert.deepEqual([...channelPlane(im, 2)], [9, 6, 1]);
  assert.deepEqual([...grayPlane(im)], [9, 3, 301 / 3]);
});
