import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cachedDownscale, lrCacheKey, defaultLrCacheDir, LR_RECIPE_VERSION } from '../../lib/data/lr_cache';
import { RgbImage, readImage, writePng } from '../../lib/data/image';
import { downscaleBicubic } from '../../lib/metrics/resize';
import { repoRoot } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-lrcache-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A w x h image with pseudo-random but fixed pixels (a small LCG, so the bytes are reproducible). */
function noiseImage(w: number, h: number, seed: number, gray = false): RgbImage {
  const data = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      data[i * 3 + c] = gray && c > 0 ? data[i * 3] : s >>> 24;
    }
  }
  return { width: w, height: h, data, gray };
}

async function hrFile(name: string, img: RgbImage): Promise<{ file: string; hr: RgbImage }> {
  const file = path.join(tmp, 'data', `${name}.png`);
  await writePng(file, img);
  return { file, hr: await readImage(file) };
}

test('the default cache lives in out/cache/lr of the repository, outside any data root', () => {
  assert.equal(defaultLrCacheDir, path.join(repoRoot, 'out', 'cache', 'lr'));
});

test('generate, then reuse; a corrupt or wrong-size entry is regenerated', async () => {
  const cacheDir = path.join(tmp, 'cache1');
  const { file, hr } = await hrFile('noise', noiseImage(31, 22, 1));
  const expected = downscaleBicubic(hr, 3);
  assert.equal(expected.width, 10); assert.equal(expected.height, 7);

  const first = await cachedDownscale(file, hr, 3, { cacheDir });
  assert.equal(first.outcome, 'generated');
  assert.equal(path.dirname(first.file), cacheDir);
  assert.equal(path.basename(first.file), `${lrCacheKey(fs.readFileSync(file), 3)}.png`);
  assert.deepEqual(first.lr.data, expected.data);
  assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(first.file)]); // no temporary file left
  const mtime = fs.statSync(first.file).mtimeMs;

  const second = await cachedDownscale(file, hr, 3, { cacheDir });
  assert.equal(second.outcome, 'hit');
  assert.equal(second.file, first.file);
  assert.equal(fs.statSync(first.file).mtimeMs, mtime); // read, not rewritten
  assert.deepEqual([second.lr.width, second.lr.height], [10, 7]);
  assert.deepEqual(second.lr.data, expected.data);

  // A partial entry (half of the PNG) does not decode and is replaced.
  const bytes = fs.readFileSync(first.file);
  fs.writeFileSync(first.file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const third = await cachedDownscale(file, hr, 3, { cacheDir });
  assert.equal(third.outcome, 'replaced');
  assert.deepEqual(third.lr.data, expected.data);
  assert.deepEqual((await readImage(first.file)).data, expected.data);

  // A valid PNG of the wrong size under the key is not trusted either.
  await writePng(first.file, noiseImage(9, 7, 5));
  const fourth = await cachedDownscale(file, hr, 3, { cacheDir });
  assert.equal(fourth.outcome, 'replaced');
  assert.deepEqual(fourth.lr.data, expected.data);
  assert.equal((await cachedDownscale(file, hr, 3, { cacheDir })).outcome, 'hit');
});

test('the key changes with the HR bytes, the scale and the recipe version', async () => {
  const cacheDir = path.join(tmp, 'cache2');
  const img = noiseImage(16, 12, 2);
  const a = await hrFile('a', img);
  const bytesA = fs.readFileSync(a.file);
  const changed = { ...img, data: img.data.slice() };
  changed.data[0] ^= 1; // one bit of one pixel
  const b = await hrFile('b', changed);
  const keyA = lrCacheKey(bytesA, 2);
  assert.match(keyA, /^[0-9a-f]{64}$/);
  assert.notEqual(lrCacheKey(fs.readFileSync(b.file), 2), keyA);
  assert.notEqual(lrCacheKey(bytesA, 4), keyA);
  assert.notEqual(lrCacheKey(bytesA, 2, `${LR_RECIPE_VERSION}-next`), keyA);
  assert.equal(lrCacheKey(Buffer.from(bytesA), 2), keyA);

  // An entry made from the old HR is not used for the edited file: it is generated afresh.
  const ra = await cachedDownscale(a.file, a.hr, 2, { cacheDir });
  fs.copyFileSync(b.file, a.file);
  const rb = await cachedDownscale(a.file, b.hr, 2, { cacheDir });
  assert.equal(ra.outcome, 'generated');
  assert.equal(rb.outcome, 'generated');
  assert.notEqual(rb.file, ra.file);
  assert.deepEqual(rb.lr.data, downscaleBicubic(b.hr, 2).data);
});

test('gray HR gives a gray LR entry that round-trips; concurrent requests share one job', async () => {
  const cacheDir = path.join(tmp, 'cache3');
  const { file, hr } = await hrFile('gray', noiseImage(20, 20, 3, true));
  assert.equal(hr.gray, true);
  const [x, y] = await Promise.all([cachedDownscale(file, hr, 4, { cacheDir }), cachedDownscale(file, hr, 4, { cacheDir })]);
  assert.equal(x, y);
  assert.equal(x.outcome, 'generated');
  const hit = await cachedDownscale(file, hr, 4, { cacheDir });
  assert.equal(hit.outcome, 'hit');
  assert.equal(hit.lr.gray, true);
  assert.deepEqual(hit.lr.data, downscaleBicubic(hr, 4).data);
});

test('an unwritable cache folder warns once and still returns the LR', async () => {
  const blocker = path.join(tmp, 'blocker');
  fs.writeFileSync(blocker, 'a file where the cache folder should go');
  const cacheDir = path.join(blocker, 'lr');
  const { file, hr } = await hrFile('w', noiseImage(8, 8, 4));
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => { warnings.push(msg); };
  try {
    const r1 = await cachedDownscale(file, hr, 2, { cacheDir });
    const r2 = await cachedDownscale(file, hr, 2, { cacheDir });
    assert.equal(r1.outcome, 'generated');
    assert.equal(r2.outcome, 'generated');
    assert.deepEqual(r1.lr.data, downscaleBicubic(hr, 2).data);
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /LR cache .*blocker.*: cannot write/);
});
