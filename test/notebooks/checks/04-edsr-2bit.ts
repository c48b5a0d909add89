/**
 * Re-check of notebooks/04-edsr-2bit.ipynb: the displayed table against the experiment's
 * report.json (read again from disk), the recomputed per-image scores against the report, the size
 * accounting from its parts, and in the quick and paper budgets the ranking PAMS < DDTB < FP and
 * DDTB > bicubic on Set5 and Set14.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ExecutedNotebook, checkNamed, numbers } from './types';
import { repoRoot } from '../../helpers';

interface ReportCell { psnr: number | null; ssim: number; images: Array<{ name: string; psnr: number | null; ssim: number }> }
interface Report { methods: Record<string, { sets: Record<string, Record<string, ReportCell>> }> }

export function recheck(run: ExecutedNotebook): void {
  const r = run.report;

  const table = checkNamed(r, 'the table shows report.json within 0.005 dB');
  const v = table.values!;
  const methods = v.methods as string[];
  const sets = v.sets as string[];
  const scale = v.scale as string;
  assert.deepEqual([...methods].sort(), ['bicubic', 'ddtb', 'fp', 'pams']);
  const cells = v.shownCells as string[][];
  const reportPsnr = v.reportPsnr as number[][];
  const reportSsim = v.reportSsim as number[][];
  // The report on disk is the one the table was made from.
  const file = path.join(repoRoot, v.reportFile as string);
  assert.ok(fs.existsSync(file), `${v.reportFile as string} is gone`);
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  methods.forEach((m, i) => sets.forEach((set, j) => {
    const c = report.methods[m].sets[set][scale];
    assert.equal(reportPsnr[i][j], c.psnr, `${m} ${set}: carried PSNR differs from ${v.reportFile as string}`);
    assert.equal(reportSsim[i][j], c.ssim, `${m} ${set}: carried SSIM differs`);
    const [psnrText, ssimText] = cells[i][j].split(' / ');
    assert.ok(Math.abs(Number(psnrText) - c.psnr!) <= 0.005, `${m} ${set}: shown ${psnrText} dB vs report ${c.psnr}`);
    assert.ok(Math.abs(Number(ssimText) - c.ssim) <= 0.00005, `${m} ${set}: shown SSIM ${ssimText} vs report ${c.ssim}`);
  }));

  const crops = checkNamed(r, 'the crops\' whole-image scores, recomputed, equal the report\'s');
  const images = crops.values!.images as string[];
  const cropMethods = crops.values!.methods as string[];
  const psnr = numbers(crops, 'psnr');
  const ssim = numbers(crops, 'ssim');
  assert.ok(images.length >= 4, 'at least one image with its four outputs');
  images.forEach((id, k) => {
    const [set, name] = id.split('/');
    const fromDisk = report.methods[cropMethods[k]].sets[set][scale].images.find((im) => im.name === name);
    assert.ok(fromDisk, `${id} is not in the report's ${set}`);
    assert.ok(Math.abs(psnr[k] - fromDisk.psnr!) <= 0.005, `${id} ${cropMethods[k]}: recomputed ${psnr[k]} dB vs report ${fromDisk.psnr}`);
    assert.ok(Math.abs(ssim[k] - fromDisk.ssim) <= 0.0005, `${id} ${cropMethods[k]}: SSIM ${ssim[k]} vs ${fromDisk.ssim}`);
  });

  const size = checkNamed(r, 'the size accounting adds up');
  const nets = size.values!.networks as Array<{ label: string; parameters: number; quantizedParameters: number; storageBits: number; bits: number; gates: number; gateWeights: number; dynamicChannels: number[] }>;
  assert.equal(nets.length, 3);
  for (const n of nets) {
    assert.equal(n.storageBits, n.quantizedParameters * n.bits + (n.parameters - n.quantizedParameters) * 32, `${n.label}: storage`);
    assert.equal(n.gateWeights, n.dynamicChannels.reduce((s, c) => s + 32 * c + 64, 0), `${n.label}: gate weights (spec 9.3: 32C + 64 per gate)`);
    assert.equal(n.gates, n.dynamicChannels.length);
  }
  const [fp, pams, dd] = nets;
  assert.equal(fp.quantizedParameters, 0);
  assert.equal(pams.gates, 0, 'PAMS has no gates');
  assert.ok(dd.gates > 0, 'DDTB has gates');
  assert.equal(pams.parameters, fp.parameters, 'quantization keeps the parameter count');
  assert.equal(dd.quantizedParameters, pams.quantizedParameters);

  const ranking = r.checks.find((c) => c.name === 'PAMS < DDTB < FP and DDTB > bicubic on Set5 and Set14');
  if (run.budget === 'smoke') {
    assert.equal(ranking, undefined, 'the smoke budget does not rank methods');
    return;
  }
  assert.ok(ranking, 'the quick and paper budgets check the ranking');
  const rank = (m: string) => ['Set5', 'Set14'].map((set) => report.methods[m].sets[set][scale].psnr!);
  assert.deepEqual(numbers(ranking, 'ddtb'), rank('ddtb'));
  assert.deepEqual(numbers(ranking, 'pams'), rank('pams'));
  [0, 1].forEach((i) => {
    assert.ok(rank('pams')[i] < rank('ddtb')[i], `PAMS ${rank('pams')[i]} vs DDTB ${rank('ddtb')[i]}`);
    assert.ok(rank('ddtb')[i] < rank('fp')[i], `DDTB ${rank('ddtb')[i]} vs FP ${rank('fp')[i]}`);
    assert.ok(rank('ddtb')[i] > rank('bicubic')[i], `DDTB ${rank('ddtb')[i]} vs bicubic ${rank('bicubic')[i]}`);
  });
}
