/**
 * The one result type of every evaluation in the project (`bicubic`, later `eval`, `experiment`),
 * JSON-safe as written:
 *   { "protocol": { "channel", "gray", "shave", "lr" },
 *     "sets": { "<Set>": { "<scale>": { "psnr", "ssim", "count", "images": [ { "name", "psnr", "ssim" } ] } } } }
 *
 * Identical images (infinite PSNR) are written as `"psnr": null` with `"identical": true`.
 * Means: the set PSNR is the mean over the images with a finite PSNR only (an infinite value would
 * make the mean infinite and say nothing about the others); identical images still count in `count`
 * and enter the SSIM mean with their SSIM of 1. A set whose images are all identical has PSNR null.
 */

/** How the scores were computed. See `scorePair` (evaluate.ts) for what each option does. */
export interface EvalProtocol {
  /** 'y': PSNR and SSIM on BT.601 Y; 'rgb': PSNR over the three channels, SSIM still on Y. */
  readonly channel: 'y' | 'rgb';
  /** 'replicate': gray files scored like colour ones; 'raw': a gray HR file is scored on its own values. */
  readonly gray: 'replicate' | 'raw';
  /** Pixels cut from each side of the HR-size images before scoring; 'scale' = the SR factor. */
  readonly shave: number | 'scale';
  /** 'standard': the LR files shipped with the set; 'generated': LR made by downscaleBicubic. */
  readonly lr: 'standard' | 'generated';
}

/** The SR literature's protocol: Y, gray files as 3 equal channels, shave = scale, shipped LR. */
export const DEFAULT_PROTOCOL: EvalProtocol = Object.freeze({ channel: 'y', gray: 'replicate', shave: 'scale', lr: 'standard' });

/** One image's scores. psnr in dB, null when the images are identical (then identical: true). */
export interface ImageScore {
  readonly name: string;
  readonly psnr: number | null;
  readonly ssim: number;
  readonly identical?: true;
}

/** One set at one scale: means over `images` (see the module docstring for identical images). */
export interface SetScaleResult {
  psnr: number | null;
  ssim: number;
  count: number;
  images: ImageScore[];
}

/** sets[setName][String(scale)], e.g. sets.Set5['2']. */
export interface EvalResult {
  readonly protocol: EvalProtocol;
  readonly sets: Record<string, Record<string, SetScaleResult>>;
}

/** An empty result for `protocol`, to be filled with addImageScore. */
export function emptyResult(protocol: EvalProtocol = DEFAULT_PROTOCOL): EvalResult {
  return { protocol: { ...protocol }, sets: {} };
}

/** An ImageScore from a PSNR that may be Infinity (identical images): Infinity -> null + identical. */
export function imageScore(name: string, psnrDb: number | null, ssimValue: number): ImageScore {
  if (psnrDb === null || psnrDb === Infinity) return { name, psnr: null, ssim: ssimValue, identical: true };
  if (!Number.isFinite(psnrDb)) throw new RangeError(`imageScore: ${name}: PSNR ${psnrDb} is not a number of dB`);
  return { name, psnr: psnrDb, ssim: ssimValue };
}

/** Means of a list of image scores: PSNR over the finite ones, SSIM over all, count = all. */
export function summarize(images: readonly ImageScore[]): SetScaleResult {
  if (images.length === 0) throw new RangeError('summarize: no image scores to average');
  let psnrSum = 0, psnrCount = 0, ssimSum = 0;
  for (const im of images) {
    if (im.psnr !== null) { psnrSum += im.psnr; psnrCount++; }
    ssimSum += im.ssim;
  }
  return {
    psnr: psnrCount > 0 ? psnrSum / psnrCount : null,
    ssim: ssimSum / images.length,
    count: images.length,
    images: [...images],
  };
}

/**
 * Appends `score` to result.sets[set][String(scale)] (created when missing) and recomputes that cell's
 * means. Mutates `result` (it is an accumulator); returns it for chaining.
 */
export function addImageScore(result: EvalResult, set: string, scale: number, score: ImageScore): EvalResult {
  const key = String(scale);
  const bySet = (result.sets[set] ??= {});
  const images = bySet[key] ? [...bySet[key].images, score] : [score];
  bySet[key] = summarize(images);
  return result;
}

/** Scale keys present anywhere in the result, in numeric order. */
export function resultScales(result: EvalResult): string[] {
  const keys = new Set<string>();
  for (const bySet of Object.values(result.sets)) for (const k of Object.keys(bySet)) keys.add(k);
  return [...keys].sort((a, b) => Number(a) - Number(b));
}

/** "PSNR/SSIM" with 2 and 4 decimals ("inf" for an all-identical PSNR). */
export function formatCell(cell: SetScaleResult): string {
  return `${cell.psnr === null ? 'inf' : cell.psnr.toFixed(2)}/${cell.ssim.toFixed(4)}`;
}

/**
 * A markdown table: one row per set (in insertion order), one column per scale ("x2", ...), cells
 * "PSNR/SSIM" (2 and 4 decimals), "-" where a set lacks a scale.
 */
export function formatMarkdownTable(result: EvalResult): string {
  const scales = resultScales(result);
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const lines = [row(['Set', ...scales.map((s) => `x${s}`)]), row(['---', ...scales.map(() => '---')])];
  for (const [set, bySet] of Object.entries(result.sets)) {
    lines.push(row([set, ...scales.map((s) => (bySet[s] ? formatCell(bySet[s]) : '-'))]));
  }
  return lines.join('\n');
}
