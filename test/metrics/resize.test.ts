import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { readImage, cropTopLeft } from '../../lib/data/image';
import { RgbImage } from '../../lib/data/image_types';
import { cubicKernel, resizeTaps, imresize, downscaleBicubic, upscaleBicubic } from '../../lib/metrics/resize';
import { dataRootForTests } from '../helpers';

function constantImage(width: number, height: number, rgb: [number, number, number], gray = false): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data, gray };
}

test('Keys cubic kernel (a = -0.5): hand values and partition of unity', () => {
  assert.equal(cubicKernel(0), 1);
  assert.equal(cubicKernel(1), 0);
  assert.equal(cubicKernel(-2), 0);
  assert.equal(cubicKernel(2.5), 0);
  assert.equal(cubicKernel(0.5), 0.5625); // 1.5/8 - 2.5/4 + 1
  assert.equal(cubicKernel(-1.5), -0.0625); // -0.5*3.375 + 2.5*2.25 - 6 + 2
  for (const f of [0, 0.1, 0.25, 0.5, 0.77, 0.999]) {
    const sum = cubicKernel(f + 1) + cubicKernel(f) + cubicKernel(f - 1) + cubicKernel(f - 2);
    assert.ok(Math.abs(sum - 1) < 1e-12, `unshifted taps at offset ${f} sum to ${sum}`);
  }
});

test('resize taps: weights sum to 1 per output pixel, indices mirror inside the image', () => {
  for (const [inLen, outLen, scale] of [[10, 20, 2], [12, 6, 0.5], [255, 85, 1 / 3], [16, 4, 0.25], [7, 10, 1.5]] as const) {
    const t = resizeTaps(inLen, outLen, scale);
    assert.equal(t.taps, Math.ceil(scale < 1 ? 4 / scale : 4) + 2);
    for (let o = 0; o < outLen; o++) {
      let sum = 0;
      for (let k = 0; k < t.taps; k++) {
        sum += t.weights[o * t.taps + k];
        const idx = t.indices[o * t.taps + k];
        assert.ok(idx >= 0 && idx < inLen, `index ${idx} of output ${o} outside 0..${inLen - 1}`);
      }
      assert.ok(Math.abs(sum - 1) < 1e-12, `weights of output ${o} (${inLen}->${outLen}) sum to ${sum}`);
    }
  }
});

test('resize taps by hand: x2 up-scaling, first output pixel of a length-4 axis', () => {
  // u = 1/2 + 0.25 = 0.75; taps at 1-based -2..3; distances 2.75, 1.75, 0.75, -0.25, -1.25, -2.25.
  // 1-based index 0 mirrors to 1 and -1 to 2 (0-based: 0 and 1); index -2 to 3 (0-based 2).
  const t = resizeTaps(4, 8, 2);
  assert.deepEqual([...t.weights.subarray(0, 6)], [0, -0.0234375, 0.2265625, 0.8671875, -0.0703125, 0]);
  assert.deepEqual([...t.indices.subarray(0, 6)], [2, 1, 0, 0, 1, 2]);
});

test('imresize by hand: a 4x1 image up-scaled x2; each pass rounds half up and clamps', () => {
  // Output (0, y) = 1.09375 p0 - 0.09375 p1 = (35 p0 - 3 p1) / 32 (the taps of the test above).
  // R: p = 2, 18 -> 0.5 -> 1 (half up; half to even would give 0). G: 100, 200 -> 90.625 -> 91.
  // B: 0, 255 -> -23.9 -> 0 (clamped).
  const data = new Uint8Array([2, 100, 0, 18, 200, 255, 18, 200, 255, 18, 200, 255]);
  const out = imresize({ width: 4, height: 1, data, gray: false }, 2);
  assert.deepEqual([out.width, out.height], [8, 2]);
  for (const row of [0, 1]) assert.deepEqual([...out.data.subarray(row * 24, row * 24 + 3)], [1, 91, 0]);
});

test('imresize: output size is ceil(size * scale); a constant image stays constant; gray is kept', () => {
  for (const scale of [2, 3, 4, 0.5, 1 / 3, 0.25, 1.5, 0.7]) {
    const img = constantImage(13, 9, [7, 128, 250], true);
    const out = imresize(img, scale);
    assert.deepEqual([out.width, out.height], [Math.ceil(13 * scale), Math.ceil(9 * scale)], `size at scale ${scale}`);
    assert.equal(out.gray, true);
    for (let i = 0; i < out.width * out.height; i++) {
      assert.deepEqual([...out.data.subarray(i * 3, i * 3 + 3)], [7, 128, 250], `pixel ${i} at scale ${scale}`);
    }
  }
  assert.throws(() => imresize(constantImage(4, 4, [0, 0, 0]), 0), /scale must be a positive number/);
  assert.throws(() => downscaleBicubic(constantImage(4, 4, [0, 0, 0]), 1.5), /positive integer/);
  assert.throws(() => downscaleBicubic(constantImage(3, 8, [0, 0, 0]), 4), /smaller than the factor 4/);
});

test('downscaleBicubic crops HR top-left to a multiple of s; upscaleBicubic multiplies the size', () => {
  const img = constantImage(14, 11, [1, 2, 3]);
  const lr = downscaleBicubic(img, 3);
  assert.deepEqual([lr.width, lr.height], [4, 3]);
  assert.deepEqual([upscaleBicubic(lr, 3).width, upscaleBicubic(lr, 3).height], [12, 9]);
});

test('BIT-EXACT: downscaleBicubic(Set5/HR, s) reproduces every pixel of Set5/LR_bicubic/X2, X3, X4', async () => {
  const set5 = path.join(dataRootForTests(), 'Set5');
  for (const name of ['baby', 'bird', 'butterfly', 'head', 'woman']) {
    const hr = await readImage(path.join(set5, 'HR', `${name}.png`));
    for (const s of [2, 3, 4]) {
      const ref = await readImage(path.join(set5, 'LR_bicubic', `X${s}`, `${name}x${s}.png`));
      const lr = downscaleBicubic(hr, s);
      assert.deepEqual([lr.width, lr.height], [ref.width, ref.height], `${name} x${s} size`);
      let differing = 0;
      for (let i = 0; i < ref.data.length; i++) if (lr.data[i] !== ref.data[i]) differing++;
      assert.equal(differing, 0, `${name} x${s}: ${differing} of ${ref.data.length} samples differ from ${name}x${s}.png`);
      // imresize(1/s) with MATLAB's ceil(size * (1/s)) output size gives the same image.
      const viaScale = imresize(cropTopLeft(hr, lr.width * s, lr.height * s), 1 / s);
      assert.deepEqual([viaScale.width, viaScale.height], [ref.width, ref.height]);
      assert.deepEqual(viaScale.data, ref.data);
    }
  }
});

