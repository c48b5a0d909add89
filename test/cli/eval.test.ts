/**
 * `ddtb eval` of the shared FP EDSR-8 weights on one Set5 image at x2 and x4 against the
 * per-image PSNR/SSIM PyTorch measured (../shared/weights/reference.json), within 0.01 dB / 0.0005:
 * the difference allowed is float32 summation order inside the convs, which moves a few pixels by one
 * grey level after rounding. Also: weights for the wrong architecture, and a truncated file.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from './run_cli';
import { dataRootForTests, sharedPath } from '../helpers';
import { EvalResult } from '../../lib/metrics/result';

const reference = JSON.parse(fs.readFileSync(sharedPath('weights', 'reference.json'), 'utf8'));

for (const scale of [2, 4]) {
  test(`edsr8_x${scale}.pt on Set5 butterfly matches PyTorch's PSNR/SSIM`, { timeout: 10 * 60 * 1000 }, async () => {
    const run = await runCli(['eval', '--weights', sharedPath('weights', `edsr8_x${scale}.pt`), '--data', dataRootForTests(),
      '--sets', 'Set5', '--images', 'butterfly', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as EvalResult;
    const ours = result.sets.Set5[String(scale)].images[0];
    const want = reference.models[`x${scale}`].results.Set5.per_image.butterfly;
    assert.ok(Math.abs(ours.psnr! - want.psnr) <= 0.01, `PSNR ${ours.psnr} vs PyTorch ${want.psnr}`);
    assert.ok(Math.abs(ours.ssim - want.ssim) <= 0.0005, `SSIM ${ours.ssim} vs PyTorch ${want.ssim}`);
  });
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('ddtb eval: EDSR'));
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0];
}

test('weights for another architecture list what does not fit', async () => {
  const weights = sharedPath('weights', 'edsr8_x4.pt');
  const blocks = await runCli(['eval', '--weights', weights, '--data', dataRootForTests(), '--sets', 'Set5', '--blocks', '16']);
  assert.notEqual(blocks.code, 0);
  assert.match(oneLine(blocks.stderr), /edsr8_x4\.pt: does not fit the model: missing keys \(34\): body\.8\.body\.0\.weight.*unexpected keys \(2\): body\.8\.weight, body\.8\.bias/);
  const scale = await runCli(['eval', '--weights', weights, '--data', dataRootForTests(), '--sets', 'Set5', '--scale', '2']);
  assert.notEqual(scale.code, 0);
  assert.match(oneLine(scale.stderr), /unexpected keys \(2\): tail\.0\.2\.weight, tail\.0\.2\.bias/);
  const feats = await runCli(['eval', '--weights', weights, '--data', dataRootForTests(), '--sets', 'Set5', '--feats', '32']);
  assert.match(oneLine(feats.stderr), /shape mismatches \(\d+\): head\.0\.weight \(checkpoint \[64,3,3,3\], model \[32,3,3,3\]\)/);
});

test('a truncated checkpoint is refused with its name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-eval-'));
  const cut = path.join(dir, 'cut.pt');
  fs.writeFileSync(cut, fs.readFileSync(sharedPath('weights', 'edsr8_x4.pt')).subarray(0, 100000));
  const run = await runCli(['eval', '--weights', cut, '--data', dataRootForTests(), '--sets', 'Set5']);
  assert.notEqual(run.code, 0);
  assert.match(oneLine(run.stderr), /cut\.pt: truncated zip/);
});

/** Whether the native kernels are in use (the full-set check needs them to finish in seconds). */
function nativeInUse(): boolean {
  return process.env.DDTB_NATIVE !== '0' && fs.existsSync(path.join(__dirname, '..', '..', 'build', 'Release', 'ddtb_native.node'));
}

for (const scale of [2, 4]) {
  test(`edsr8_x${scale}.pt on all of Set5 and Set14 matches PyTorch's per-image PSNR/SSIM`, {
    timeout: 15 * 60 * 1000,
    skip: nativeInUse() ? false : 'needs the native kernels (pure JS takes about an hour per set); the one-image check above runs instead',
  }, async () => {
    const run = await runCli(['eval', '--weights', sharedPath('weights', `edsr8_x${scale}.pt`), '--data', dataRootForTests(), '--sets', 'Set5,Set14', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as EvalResult;
    const ref = reference.models[`x${scale}`].results;
    for (const set of ['Set5', 'Set14']) {
      const cell = result.sets[set][String(scale)];
      assert.equal(cell.count, ref[set].n_images);
      for (const im of cell.images) {
        const want = ref[set].per_image[im.name];
        assert.ok(want, `${set}/${im.name} in reference.json`);
        assert.ok(Math.abs(im.psnr! - want.psnr) <= 0.01, `${set}/${im.name} x${scale}: PSNR ${im.psnr} vs PyTorch ${want.psnr}`);
        assert.ok(Math.abs(im.ssim - want.ssim) <= 0.0005, `${set}/${im.name} x${scale}: SSIM ${im.ssim} vs PyTorch ${want.ssim}`);
      }
      assert.ok(Math.abs(cell.psnr! - ref[set].mean_psnr) <= 0.01, `${set} x${scale} mean PSNR ${cell.psnr} vs ${ref[set].mean_psnr}`);
    }
  });
}
