import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveDataRoot, scanDataRoot, compareNames, imageFiles, div2kHrFolders, benchmarkSetDir } from '../../lib/data/folders';
import { UserError } from '../../lib/errors';
import { dataRootForTests, repoRoot } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-folders-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Creates `rel` under `base` with a few bytes (layout checks look at names only). */
function touch(base: string, rel: string): void {
  fs.mkdirSync(path.dirname(path.join(base, rel)), { recursive: true });
  fs.writeFileSync(path.join(base, rel), 'x');
}

/** Runs `fn` with DDTB_DATA set to `value` (or unset), restoring it afterwards. */
function withEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.DDTB_DATA;
  if (value === undefined) delete process.env.DDTB_DATA;
  else process.env.DDTB_DATA = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.DDTB_DATA;
    else process.env.DDTB_DATA = saved;
  }
}

test('relative data roots resolve against the repository root, not the working directory', () => {
  const shared = dataRootForTests();
  const cwd = process.cwd();
  process.chdir(tmp); // as a notebook running in notebooks/ would be somewhere else
  try {
    const rel = path.relative(repoRoot, shared);
    assert.equal(resolveDataRoot(rel), shared);
    assert.equal(withEnv(rel, () => resolveDataRoot()), shared);
    // --data wins over DDTB_DATA; an empty option falls back to the environment.
    assert.equal(withEnv('no/such/folder', () => resolveDataRoot(shared)), shared);
    assert.equal(withEnv(rel, () => resolveDataRoot('')), shared);
  } finally {
    process.chdir(cwd);
  }
});

test('a missing, non-folder, empty or unset data root is a one-line UserError naming the path', () => {
  const missing = path.join(tmp, 'nope');
  assert.throws(() => resolveDataRoot(missing), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^data root .*nope \(--data\): not found \(set --data DIR or DDTB_DATA/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  assert.throws(() => withEnv('../x-not-here', () => resolveDataRoot()), /: data root \.\.\/x-not-here \(DDTB_DATA, = .*x-not-here\): not found/);
  touch(tmp, 'a-file');
  assert.throws(() => resolveDataRoot(path.join(tmp, 'a-file')), /a-file \(--data\): not a directory/);
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(path.join(empty, 'Set5', 'HR'), { recursive: true }); // a set folder with no images is not a set
  assert.throws(() => resolveDataRoot(empty), /empty \(--data\): no data sets found \(expected <Set>\/HR\/\*\.png or a training folder/);
  assert.throws(() => withEnv(undefined, () => resolveDataRoot()), /no data root: set --data DIR or DDTB_DATA/);
});

test('the shared data root holds the four benchmark sets and T91', () => {
  const found = scanDataRoot(dataRootForTests());
  assert.deepEqual(found.benchmarkSets, ['B100', 'Set5', 'Set14', 'Urban100']);
  assert.deepEqual(found.trainingFolders, ['T91']);
});

test('layouts: EDSR benchmark, DIV2K (at the root or under DIV2K/), HR folders of BMPs, plain image folders', () => {
  const root = path.join(tmp, 'layouts');
  touch(root, 'MySet/HR/a.png');
  touch(root, 'MySet/LR_bicubic/X2/ax2.png');
  touch(root, 'Bmps/HR/t1.bmp');
  touch(root, 'Photos/img.JPG');
  touch(root, 'Notes/readme.txt');
  touch(root, 'DIV2K_train_HR/0001.png');
  touch(root, 'DIV2K_train_LR_bicubic/X2/0001x2.png');
  touch(root, '.hidden/HR/z.png');
  touch(root, 'benchmark/Set9/HR/x.png'); // EDSR's benchmark pack unpacks into benchmark/<Set>
  touch(root, 'benchmark/MySet/HR/b.png'); // the root-level MySet wins; listed once
  assert.deepEqual(scanDataRoot(root), { benchmarkSets: ['MySet', 'Set9'], trainingFolders: ['DIV2K', 'Bmps', 'Photos'] });
  assert.equal(benchmarkSetDir(root, 'MySet'), path.join(root, 'MySet'));
  assert.equal(benchmarkSetDir(root, 'Set9'), path.join(root, 'benchmark', 'Set9'));
  assert.equal(benchmarkSetDir(root, 'Set10'), null);
  assert.equal(resolveDataRoot(root), root);
  assert.deepEqual(div2kHrFolders(root), [{ hrDir: path.join(root, 'DIV2K_train_HR'), lrDir: path.join(root, 'DIV2K_train_LR_bicubic') }]);

  const nested = path.join(tmp, 'nested');
  touch(nested, 'DIV2K/DIV2K_train_HR/0001.png');
  touch(nested, 'DIV2K/DIV2K_valid_HR/0801.png');
  assert.deepEqual(scanDataRoot(nested), { benchmarkSets: [], trainingFolders: ['DIV2K'] });
  assert.deepEqual(div2kHrFolders(nested).map((f) => path.relative(nested, f.hrDir)), [
    path.join('DIV2K', 'DIV2K_train_HR'),
    path.join('DIV2K', 'DIV2K_valid_HR'),
  ]);
  assert.equal(resolveDataRoot(nested), nested);
});

test('names sort with numbers compared as numbers, and only image files are listed', () => {
  const names = ['t10.bmp', 'tt1.bmp', 't2.bmp', 't1.bmp', 'img_100.png', 'img_010.png', 'img_9.png', 'a.png', 'A.png'];
  assert.deepEqual([...names].sort(compareNames), ['A.png', 'a.png', 'img_9.png', 'img_010.png', 'img_100.png', 't1.bmp', 't2.bmp', 't10.bmp', 'tt1.bmp']);
  const dir = path.join(tmp, 'listing');
  for (const f of ['b.png', 'a.jpeg', 'c.bmp', 'd.txt', '.e.png', 'f.tif']) touch(dir, f);
  assert.deepEqual(imageFiles(dir), ['a.jpeg', 'b.png', 'c.bmp']);
  assert.deepEqual(imageFiles(path.join(dir, 'none')), []);
});
