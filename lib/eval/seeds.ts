/**
 * Several seeds of one method in the project's result type: each set/scale cell holds the mean over
 * seeds, the per-seed values and the sample standard deviation (n - 1; 0 with one seed), and per-image
 * scores averaged over seeds.
 */
import { EvalResult, SetScaleResult, ImageScore } from '../metrics/result';

export interface SeedCell extends SetScaleResult {
  seeds?: Array<{ seed: number; psnr: number | null; ssim: number }>;
  psnrSd?: number;
  ssimSd?: number;
}

function sd(values: number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

/** Combines one EvalResult per seed (same sets, scales and images) into one. */
export function combineSeeds(perSeed: ReadonlyArray<{ seed: number; result: EvalResult }>): EvalResult {
  if (perSeed.length === 0) throw new RangeError('combineSeeds: no results');
  const first = perSeed[0].result;
  const sets: Record<string, Record<string, SeedCell>> = {};
  for (const [set, byScale] of Object.entries(first.sets)) {
    sets[set] = {};
    for (const scale of Object.keys(byScale)) {
      const cells = perSeed.map(({ seed, result }) => ({ seed, cell: result.sets[set][scale] }));
      const psnrs = cells.map((c) => c.cell.psnr).filter((p): p is number => p !== null);
      const ssims = cells.map((c) => c.cell.ssim);
      const images: ImageScore[] = byScale[scale].images.map((im, i) => {
        const values = cells.map((c) => c.cell.images[i]);
        const ps = values.map((v) => v.psnr).filter((p): p is number => p !== null);
        return { name: im.name, psnr: ps.length === values.length ? ps.reduce((a, b) => a + b, 0) / ps.length : null, ssim: values.reduce((a, v) => a + v.ssim, 0) / values.length };
      });
      sets[set][scale] = {
        psnr: psnrs.length ? psnrs.reduce((a, b) => a + b, 0) / psnrs.length : null,
        ssim: ssims.reduce((a, b) => a + b, 0) / ssims.length,
        count: byScale[scale].count,
        images,
        seeds: cells.map((c) => ({ seed: c.seed, psnr: c.cell.psnr, ssim: c.cell.ssim })),
        psnrSd: sd(psnrs),
        ssimSd: sd(ssims),
      };
    }
  }
  return { protocol: first.protocol, sets };
}
