import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { emptyResult, imageScore, summarize, addImageScore, formatMarkdownTable, DEFAULT_PROTOCOL, EvalResult } from '../../lib/metrics/result';

test('imageScore: an infinite PSNR becomes null with identical: true; NaN is refused', () => {
  assert.deepEqual(imageScore('a.png', Infinity, 1), { name: 'a.png', psnr: null, ssim: 1, identical: true });
  assert.deepEqual(imageScore('b.png', 31.5, 0.9), { name: 'b.png', psnr: 31.5, ssim: 0.9 });
  assert.throws(() => imageScore('c.png', NaN, 0.5), /c\.png: PSNR NaN/);
});

test('means: PSNR over finite images only, SSIM and count over all; all identical -> PSNR null', () => {
  const cell = summarize([imageScore('a', 30, 0.8), imageScore('b', 33, 0.9), imageScore('c', Infinity, 1)]);
  assert.equal(cell.psnr, 31.5);
  assert.ok(Math.abs(cell.ssim - 0.9) < 1e-15);
  assert.equal(cell.count, 3);
  assert.equal(summarize([imageScore('x', Infinity, 1)]).psnr, null);
  assert.throws(() => summarize([]), /no image scores/);
});

test('addImageScore fills sets[set][scale]; the result survives a JSON round trip (null, identical)', () => {
  const r = emptyResult({ ...DEFAULT_PROTOCOL, gray: 'raw' });
  addImageScore(r, 'Set5', 2, imageScore('baby', 34, 0.95));
  addImageScore(r, 'Set5', 2, imageScore('bird', Infinity, 1));
  addImageScore(r, 'Set5', 4, imageScore('baby', 30, 0.85));
  assert.deepEqual(Object.keys(r.sets.Set5), ['2', '4']);
  assert.equal(r.sets.Set5['2'].count, 2);
  assert.equal(r.sets.Set5['2'].psnr, 34);
  assert.equal(r.sets.Set5['2'].ssim, 0.975);
  const back = JSON.parse(JSON.stringify(r)) as EvalResult;
  assert.deepEqual(back, r);
  assert.deepEqual(back.protocol, { channel: 'y', gray: 'raw', shave: 'scale', lr: 'standard' });
  assert.deepEqual(back.sets.Set5['2'].images[1], { name: 'bird', psnr: null, ssim: 1, identical: true });
});

test('formatMarkdownTable: rows = sets, columns = scales in numeric order, "PSNR/SSIM" 2 and 4 decimals', () => {
  const r = emptyResult();
  addImageScore(r, 'Set5', 4, imageScore('a', 28.4290, 0.81114));
  addImageScore(r, 'Set5', 2, imageScore('a', 33.6734, 0.930291));
  addImageScore(r, 'B100', 2, imageScore('a', 29.5599, 0.84336));
  addImageScore(r, 'Same', 3, imageScore('a', Infinity, 1));
  assert.equal(formatMarkdownTable(r), [
    '| Set | x2 | x3 | x4 |',
    '| --- | --- | --- | --- |',
    '| Set5 | 33.67/0.9303 | - | 28.43/0.8111 |',
    '| B100 | 29.56/0.8434 | - | - |',
    '| Same | - | inf/1.0000 | - |',
  ].join('\n'));
  assert.equal(formatMarkdownTable(emptyResult()), '| Set |\n| --- |');
});
