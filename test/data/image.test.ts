import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readImage, writePng, cropTopLeft } from '../../lib/data/image';
import { decodeBmp } from '../../lib/data/bmp';
import { dataRootForTests } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-image-'));

/** A 24-bit bottom-up BMP of w x h whose pixel (x, y) is (x, y, x + y), written by hand. */
function makeBmp(w: number, h: number, bits: 24 | 32 = 24): Uint8Array {
  const row = Math.ceil((w * bits) / 32) * 4;
  const buf = new Uint8Array(54 + row * h);
  const v = new DataView(buf.buffer);
  buf[0] = 0x42; buf[1] = 0x4d;
  v.setUint32(2, buf.length, true); v.setUint32(10, 54, true); v.setUint32(14, 40, true);
  v.setInt32(18, w, true); v.setInt32(22, h, true); v.setUint16(26, 1, true); v.setUint16(28, bits, true);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const p = 54 + (h - 1 - y) * row + x * (bits / 8);
    buf[p] = x + y; buf[p + 1] = y; buf[p + 2] = x;
  }
  return buf;
}

test('BMP: bottom-up 24-bit rows with padding decode to RGB HWC', () => {
  for (const bits of [24, 32] as const) {
    const img = decodeBmp(makeBmp(5, 3, bits), 'hand.bmp');
    assert.equal(img.width, 5); assert.equal(img.height, 3); assert.equal(img.gray, false);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) {
      const o = (y * 5 + x) * 3;
      assert.deepEqual([...img.data.subarray(o, o + 3)], [x, y, x + y], `pixel ${x},${y} at ${bits} bits`);
    }
  }
});

test('BMP: truncated, wrong signature and compressed files name the file and the reason', () => {
  const good = makeBmp(8, 8);
  assert.throws(() => decodeBmp(good.subarray(0, 100), 'cut.bmp'), /cut\.bmp: not a readable BMP: truncated pixel data/);
  const bad = good.slice(); bad[0] = 0x41;
  assert.throws(() => decodeBmp(bad, 'sig.bmp'), /sig\.bmp: .*signature/);
  const rle = good.slice(); new DataView(rle.buffer).setUint32(30, 1, true);
  assert.throws(() => decodeBmp(rle, 'rle.bmp'), /rle\.bmp: .*compression type 1/);
});

test('PNG round trip through writePng/readImage keeps every pixel; gray stays one channel', async () => {
  const w = 7, h = 4;
  const data = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
  await writePng(path.join(tmp, 'rgb.png'), { width: w, height: h, data, gray: false });
  const back = await readImage(path.join(tmp, 'rgb.png'));
  assert.deepEqual([back.width, back.height, back.gray], [w, h, false]);
  assert.deepEqual(back.data, data);
  const g = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) g.fill((i * 11) % 256, i * 3, i * 3 + 3);
  await writePng(path.join(tmp, 'gray.png'), { width: w, height: h, data: g, gray: true });
  const gb = await readImage(path.join(tmp, 'gray.png'));
  assert.equal(gb.gray, true);
  assert.deepEqual(gb.data, g);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
});

test('corrupt and truncated PNGs are refused with the file name', async () => {
  const file = path.join(tmp, 'rgb.png');
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(path.join(tmp, 'cut.png'), bytes.subarray(0, bytes.length - 20));
  await assert.rejects(readImage(path.join(tmp, 'cut.png')), /cut\.png: cannot decode image/);
  fs.writeFileSync(path.join(tmp, 'junk.png'), Buffer.from('not an image at all'));
  await assert.rejects(readImage(path.join(tmp, 'junk.png')), /junk\.png: cannot decode image/);
  await assert.rejects(readImage(path.join(tmp, 'missing.png')), /missing\.png: cannot read image: ENOENT/);
});

test('shared data: Set14 bridge.png is grayscale, T91 BMPs decode, crop is top-left', async () => {
  const root = dataRootForTests();
  const bridge = await readImage(path.join(root, 'Set14/HR/bridge.png'));
  assert.equal(bridge.gray, true);
  assert.deepEqual([bridge.width, bridge.height], [512, 512]);
  const t1 = await readImage(path.join(root, 'T91/HR/t1.bmp'));
  assert.deepEqual([t1.width, t1.height, t1.gray], [197, 176, false]);
  const c = cropTopLeft(t1, 196, 176);
  assert.deepEqual([...c.data.subarray(196 * 3, 196 * 3 + 3)], [...t1.data.subarray(197 * 3, 197 * 3 + 3)]);
});
