import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { listSets, benchmarkImages, loadBenchmarkPair, openTrainingSet } from '../../lib/data/datasets';
import { RgbImage, readImage, writePng, cropTopLeft } from '../../lib/data/image';
import { downscaleBicubic } from '../../lib/metrics/resize';
import { dataRootForTests } from '../helpers';

const shared = dataRootForTests();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-datasets-'));
const cacheDir = path.join(tmp, 'cache');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A w x h image whose pixel (x, y) is (x, y, 7 * tag). */
function ramp(w: number, h: number, tag = 0): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, 7 * tag], (y * w + x) * 3);
  return { width: w, height: h, data, gray: false };
}

test('benchmark sets and their image names come from <Set>/HR/*.png', () => {
  assert.deepEqual(listSets(shared), ['B100', 'Set5', 'Set14', 'Urban100']);
  assert.deepEqual(benchmarkImages(shared, 'Set5'), ['baby', 'bird', 'butterfly', 'head', 'woman']);
  const set14 = benchmarkImages(shared, 'Set14');
  assert.equal(set14.length, 14);
  assert.equal(set14[2], 'bridge');
  const b100 = benchmarkImages(shared, 'B100');
  assert.equal(b100.length, 100);
  assert.deepEqual([b100[0], b100[99]], ['img_001_SRF_3_HR', 'img_100_SRF_3_HR']);
  assert.throws(() => benchmarkImages(shared, 'Set6'), /set Set6: not found in data root .*\(expected Set6.HR\/\*\.png; sets there: B100, Set5, Set14, Urban100\)/);
});

test('Set5 x3 uses the standard LR; HR is cropped top-left to LR size x 3', async () => {
  const pair = await loadBenchmarkPair(shared, 'Set5', 'baby', 3, { cacheDir });
  assert.equal(pair.lrSource, 'standard');
  assert.equal(pair.name, 'baby');
  assert.deepEqual([pair.lr.width, pair.lr.height, pair.hr.width, pair.hr.height], [170, 170, 510, 510]);
  const lrFile = await readImage(path.join(shared, 'Set5', 'LR_bicubic', 'X3', 'babyx3.png'));
  assert.deepEqual(pair.lr.data, lrFile.data);
  assert.deepEqual(pair.hr.data, cropTopLeft(await readImage(path.join(shared, 'Set5', 'HR', 'baby.png')), 510, 510).data);
  const woman = await loadBenchmarkPair(shared, 'Set5', 'woman', 4, { cacheDir });
  assert.deepEqual([woman.lr.width, woman.lr.height, woman.hr.width, woman.hr.height], [57, 86, 228, 344]);
  assert.equal(fs.existsSync(cacheDir), false); // nothing generated, nothing cached
});

test('without LR files the LR is generated: bit-identical to the standard Set5 LR, cached outside the data root', async () => {
  // A copy of Set5's bird and butterfly HR without LR_bicubic: the generated LR must equal the shipped one.
  const root = path.join(tmp, 'nolr');
  fs.mkdirSync(path.join(root, 'S', 'HR'), { recursive: true });
  for (const n of ['bird', 'butterfly']) fs.copyFileSync(path.join(shared, 'Set5', 'HR', `${n}.png`), path.join(root, 'S', 'HR', `${n}.png`));
  for (const [n, s] of [['bird', 3], ['butterfly', 3], ['butterfly', 4]] as const) {
    const pair = await loadBenchmarkPair(root, 'S', n, s, { cacheDir });
    assert.equal(pair.lrSource, 'generated');
    const standard = await readImage(path.join(shared, 'Set5', 'LR_bicubic', `X${s}`, `${n}x${s}.png`));
    assert.deepEqual([pair.lr.width, pair.lr.height], [standard.width, standard.height]);
    assert.deepEqual(pair.lr.data, standard.data, `${n} x${s}`);
    assert.deepEqual([pair.hr.width, pair.hr.height], [standard.width * s, standard.height * s]);
  }
  assert.equal(fs.readdirSync(cacheDir).length, 3);
  assert.deepEqual(fs.readdirSync(path.join(root, 'S')), ['HR']); // the data root is left untouched
});

test('sets unpacked under <root>/benchmark/ (the EDSR pack) are found, with their standard LR', async () => {
  const root = path.join(tmp, 'pack');
  const set = path.join(root, 'benchmark', 'Set5');
  fs.mkdirSync(path.join(set, 'HR'), { recursive: true });
  fs.mkdirSync(path.join(set, 'LR_bicubic', 'X2'), { recursive: true });
  fs.copyFileSync(path.join(shared, 'Set5', 'HR', 'bird.png'), path.join(set, 'HR', 'bird.png'));
  fs.copyFileSync(path.join(shared, 'Set5', 'LR_bicubic', 'X2', 'birdx2.png'), path.join(set, 'LR_bicubic', 'X2', 'birdx2.png'));
  assert.deepEqual(listSets(root), ['Set5']);
  assert.deepEqual(benchmarkImages(root, 'Set5'), ['bird']);
  const pair = await loadBenchmarkPair(root, 'Set5', 'bird', 2, { cacheDir });
  assert.equal(pair.lrSource, 'standard');
  assert.deepEqual(pair.lr.data, (await readImage(path.join(shared, 'Set5', 'LR_bicubic', 'X2', 'birdx2.png'))).data);
});

test('Set14 bridge (grayscale) gets a generated gray LR equal to downscaleBicubic of its HR', async () => {
  const pair = await loadBenchmarkPair(shared, 'Set14', 'bridge', 4, { cacheDir });
  const hr = await readImage(path.join(shared, 'Set14', 'HR', 'bridge.png'));
  assert.equal(pair.lrSource, 'generated');
  assert.equal(pair.lr.gray, true);
  assert.equal(pair.hr.gray, true);
  assert.deepEqual(pair.lr.data, downscaleBicubic(hr, 4).data);
  const again = await loadBenchmarkPair(shared, 'Set14', 'bridge', 4, { cacheDir });
  assert.deepEqual(again.lr.data, pair.lr.data);
  assert.equal(again.lr.gray, true);
});

test('a standard LR of the wrong size, a missing image and a missing set are errors naming them', async () => {
  const root = path.join(tmp, 'bad');
  await writePng(path.join(root, 'S', 'HR', 'a.png'), ramp(12, 10));
  await writePng(path.join(root, 'S', 'LR_bicubic', 'X2', 'ax2.png'), ramp(6, 4));
  await assert.rejects(loadBenchmarkPair(root, 'S', 'a', 2, { cacheDir }), /LR_bicubic.X2.ax2\.png: standard LR is 6x4, but HR 12x10 \/ 2 gives 6x5/);
  await assert.rejects(loadBenchmarkPair(root, 'S', 'zz', 2, { cacheDir }), /S.HR.zz\.png: no such image in set S/);
  await assert.rejects(loadBenchmarkPair(root, 'T', 'a', 2, { cacheDir }), /set T: not found .*sets there: S/);
  await assert.rejects(loadBenchmarkPair(root, 'S', 'a', 0, { cacheDir }), /scale must be a positive integer, got 0/);
  // 12x10 at x3: HR is cropped to 12x9, LR generated at 4x3.
  const pair = await loadBenchmarkPair(root, 'S', 'a', 3, { cacheDir });
  assert.deepEqual([pair.hr.width, pair.hr.height, pair.lr.width, pair.lr.height, pair.lrSource], [12, 9, 4, 3, 'generated']);
});

test('T91 opens as a training folder of BMPs with generated LR, each image decoded once', async () => {
  const t91 = openTrainingSet({ root: shared, name: 'T91', scale: 4, cacheDir });
  assert.equal(t91.names.length, 91);
  assert.deepEqual(t91.names.slice(0, 3), ['t1', 't2', 't3']);
  assert.equal(t91.names[90], 'tt27');
  assert.ok(!t91.names.includes('t41') && !t91.names.includes('tt11'));
  assert.equal(t91.description, `${path.join('T91', 'HR')} (91 images, x4)`);
  const i20 = t91.names.indexOf('t20'); // 78x78: HR cropped to 76x76
  const p = await t91.load(i20);
  assert.deepEqual([p.name, p.hr.width, p.hr.height, p.lr.width, p.lr.height, p.lrSource], ['t20', 76, 76, 19, 19, 'generated']);
  assert.deepEqual(p.lr.data, downscaleBicubic(await readImage(path.join(shared, 'T91', 'HR', 't20.bmp')), 4).data);
  assert.equal(await t91.load(i20), p); // kept in memory
  await assert.rejects(t91.load(91), /index 91 out of range 0\.\.90/);
  assert.throws(() => openTrainingSet({ root: shared, name: 'T92', scale: 2 }), /training set T92: not found in data root .*there: T91, B100, Set5, Set14, Urban100/);
  assert.throws(() => openTrainingSet({ root: shared, name: 'T91', scale: 2, range: '1-10' }), /a range needs numbered image names like 0001, but 't1' is not a number/);
});

test('DIV2K layout: numbered range, standard LR where present, generated elsewhere', async () => {
  const root = path.join(tmp, 'div2k');
  const hrDir = path.join(root, 'DIV2K_train_HR');
  for (let k = 1; k <= 5; k++) await writePng(path.join(hrDir, `${String(k).padStart(4, '0')}.png`), ramp(20 + k, 16, k));
  // Standard X2 LR for 0002 only (a distinctive flat image, so we can tell it came from the file).
  const flat: RgbImage = { width: 11, height: 8, data: new Uint8Array(11 * 8 * 3).fill(200), gray: false };
  await writePng(path.join(root, 'DIV2K_train_LR_bicubic', 'X2', '0002x2.png'), flat);

  const set = openTrainingSet({ root, name: 'DIV2K', scale: 2, range: '2-4', cacheDir });
  assert.deepEqual(set.names, ['0002', '0003', '0004']);
  assert.equal(set.description, 'DIV2K (3 images, x2)');
  const [a, b] = [await set.load(0), await set.load(1)];
  assert.equal(a.lrSource, 'standard');
  assert.deepEqual(a.lr.data, flat.data);
  assert.deepEqual([a.hr.width, a.hr.height], [22, 16]);
  assert.equal(b.lrSource, 'generated');
  assert.deepEqual([b.hr.width, b.hr.height, b.lr.width, b.lr.height], [22, 16, 11, 8]); // 23 wide, cropped to 22
  assert.deepEqual(b.lr.data, downscaleBicubic(ramp(23, 16, 3), 2).data);
  assert.equal((await set.loadAll()).length, 3);

  assert.deepEqual(openTrainingSet({ root, name: 'DIV2K', scale: 2, range: [5, 5] }).names, ['0005']);
  assert.deepEqual(openTrainingSet({ root, name: 'DIV2K', scale: 2 }).names, ['0001', '0002', '0003', '0004', '0005']);
  assert.throws(() => openTrainingSet({ root, name: 'DIV2K', scale: 2, range: '1-800' }), /range 1-800 needs 800 images but 795 are missing \(first: 6\)/);
  assert.throws(() => openTrainingSet({ root, name: 'DIV2K', scale: 2, range: '4-2' }), /range 4-2 must be two integers with first <= last/);
  assert.throws(() => openTrainingSet({ root, name: 'DIV2K', scale: 2, range: 'all' }), /range 'all' is not of the form 1-800/);
  assert.throws(() => openTrainingSet({ root: shared, name: 'DIV2K', scale: 2 }), /training set DIV2K: no DIV2K_train_HR folder in data root/);
  // The same folder by path finds its LR through the DIV2K_train_HR -> DIV2K_train_LR_bicubic naming.
  const byPath = openTrainingSet({ root, path: 'DIV2K_train_HR', scale: 2, range: '2', cacheDir });
  assert.equal((await byPath.load(0)).lrSource, 'standard');
});

test('any folder of PNG, JPEG and BMP images, given by path', async () => {
  const dir = path.join(tmp, 'mixed');
  fs.mkdirSync(dir, { recursive: true });
  await writePng(path.join(dir, 'b.png'), ramp(10, 8, 1));
  const jpegPixels = ramp(12, 12, 2);
  await sharp(Buffer.from(jpegPixels.data), { raw: { width: 12, height: 12, channels: 3 } }).jpeg({ quality: 95 }).toFile(path.join(dir, 'a.jpg'));
  fs.copyFileSync(path.join(shared, 'T91', 'HR', 't20.bmp'), path.join(dir, 'c.bmp'));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
  const set = openTrainingSet({ path: dir, scale: 2, cacheDir });
  assert.deepEqual(set.names, ['a', 'b', 'c']);
  const pairs = await set.loadAll();
  assert.deepEqual(pairs.map((p) => [p.hr.width, p.hr.height, p.lr.width, p.lr.height, p.lrSource]), [
    [12, 12, 6, 6, 'generated'],
    [10, 8, 5, 4, 'generated'],
    [78, 78, 39, 39, 'generated'],
  ]);
  assert.throws(() => openTrainingSet({ path: path.join(dir, 'nope'), scale: 2 }), /training folder .*nope: not found/);
  fs.mkdirSync(path.join(tmp, 'noimages'));
  assert.throws(() => openTrainingSet({ root: tmp, path: 'noimages', scale: 2 }), /training set noimages: no PNG, JPEG or BMP images/);
});
