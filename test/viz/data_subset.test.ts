/** lib/viz/data_subset: a small data root copied from the shared one, readable by the data tools. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { copyDataSubset } from '../../lib/viz/data_subset';
import { benchmarkImages, openTrainingSet } from '../../lib/data/datasets';
import { scanDataRoot } from '../../lib/data/folders';
import { dataRootForTests } from '../helpers';

const root = dataRootForTests();

test('copyDataSubset: chosen benchmark images with their LR files and the first training images', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-subset-'));
  const to = path.join(dir, 'smoke');
  fs.mkdirSync(to);
  fs.writeFileSync(path.join(to, 'stale.txt'), 'replaced');
  const subset = copyDataSubset({ from: root, to, benchmarks: { Set5: ['bird', 'butterfly'], Set14: ['comic'] }, training: { T91: 3 } });
  assert.equal(subset.root, to);
  assert.ok(!fs.existsSync(path.join(to, 'stale.txt')), 'the old folder is replaced');
  assert.ok(subset.files.includes(path.join('Set5', 'LR_bicubic', 'X4', 'birdx4.png')));
  assert.ok(subset.files.includes(path.join('Set14', 'HR', 'comic.png')));
  assert.deepEqual(scanDataRoot(to), { benchmarkSets: ['Set5', 'Set14'], trainingFolders: ['T91'] });
  assert.deepEqual(benchmarkImages(to, 'Set5'), ['bird', 'butterfly']);
  const t91 = openTrainingSet({ root: to, name: 'T91', scale: 4 });
  assert.deepEqual(t91.names, ['t1', 't2', 't3']);
  assert.deepEqual(fs.readFileSync(path.join(to, 'Set5', 'HR', 'bird.png')), fs.readFileSync(path.join(root, 'Set5', 'HR', 'bird.png')));
  assert.deepEqual(fs.readdirSync(dir), ['smoke'], 'no temporary folder left behind');
});

test('copyDataSubset: missing sets, images and short training folders are named errors', () => {
  const to = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-subset-')), 'x');
  assert.throws(() => copyDataSubset({ from: root, to, benchmarks: { Set99: ['a'] } }), /set Set99: no Set99\/HR/);
  assert.throws(() => copyDataSubset({ from: root, to, benchmarks: { Set5: ['nope'] } }), /Set5\/HR\/nope\.png not found/);
  assert.throws(() => copyDataSubset({ from: root, to, training: { T91: 500 } }), /training T91 has 91 images, 500 requested/);
  assert.throws(() => copyDataSubset({ from: root, to }), /nothing requested/);
  assert.ok(!fs.existsSync(to));
});
