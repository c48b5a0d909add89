/**
 * Acceptance of the bicubic baseline: `ddtb bicubic --json` against the published bicubic rows
 * (test/golden/metrics_bicubic_literature.json), every cell within 0.02 dB / 0.001 SSIM.
 * Set5, B100 and Urban100 under the default protocol; Set14 under --gray raw (the published
 * convention), and the default protocol about 0.09 dB higher on Set14.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runCli } from './run_cli';
import { dataRootForTests } from '../helpers';
import { EvalResult } from '../../lib/metrics/result';

const golden = require('../golden/metrics_bicubic_literature.json') as {
  tolerance: { psnr_db: number; ssim: number };
  sets: Record<string, Record<string, { psnr: number; ssim: number }>>;
};

function checkCells(result: EvalResult, sets: string[]): void {
  for (const set of sets) {
    for (const scale of ['2', '3', '4']) {
      const ours = result.sets[set][scale];
      const want = golden.sets[set][scale];
      assert.ok(Math.abs(ours.psnr! - want.psnr) <= golden.tolerance.psnr_db, `${set} x${scale} PSNR ${ours.psnr} vs ${want.psnr}`);
      assert.ok(Math.abs(ours.ssim - want.ssim) <= golden.tolerance.ssim, `${set} x${scale} SSIM ${ours.ssim} vs ${want.ssim}`);
    }
  }
}

test('ddtb bicubic reproduces the published bicubic rows (Set5, B100, Urban100; Set14 with --gray raw)', { timeout: 15 * 60 * 1000 }, async () => {
  const data = dataRootForTests();
  const main = await runCli(['bicubic', '--data', data, '--sets', 'Set5,Set14,B100,Urban100', '--scales', '2,3,4', '--json']);
  assert.equal(main.code, 0, main.stderr);
  const result = JSON.parse(main.stdout) as EvalResult;
  assert.deepEqual(result.protocol, { channel: 'y', gray: 'replicate', shave: 'scale', lr: 'standard' });
  assert.deepEqual([result.sets.Set5['2'].count, result.sets.Set14['2'].count, result.sets.B100['3'].count, result.sets.Urban100['4'].count], [5, 14, 100, 100]);
  checkCells(result, ['Set5', 'B100', 'Urban100']);

  const raw = await runCli(['bicubic', '--data', data, '--sets', 'Set14', '--scales', '2,3,4', '--gray', 'raw', '--json']);
  assert.equal(raw.code, 0, raw.stderr);
  const rawResult = JSON.parse(raw.stdout) as EvalResult;
  checkCells(rawResult, ['Set14']);
  for (const scale of ['2', '3', '4']) {
    const gap = result.sets.Set14[scale].psnr! - rawResult.sets.Set14[scale].psnr!;
    assert.ok(gap > 0.07 && gap < 0.11, `Set14 x${scale}: replicate - raw = ${gap.toFixed(3)} dB (about 0.09 expected)`);
  }
});

test('ddtb bicubic prints a markdown table by default', async () => {
  const run = await runCli(['bicubic', '--data', dataRootForTests(), '--sets', 'Set5', '--scales', '4']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^\| Set \| x4 \|\n\| --- \| --- \|\n\| Set5 \| 28\.43\/0\.81\d\d \|$/m);
});
