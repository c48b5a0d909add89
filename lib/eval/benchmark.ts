/**
 * Scores an upscaler (bicubic, or a network) on benchmark sets under one protocol, producing the
 * project's result type. The upscaler sees each LR image and returns the SR image as uint8 RGB.
 */
import { loadBenchmarkPair, benchmarkImages, ImagePair } from '../data/datasets';
import { RgbImage } from '../data/image';
import { upscaleBicubic } from '../metrics/resize';
import { EvalProtocol, EvalResult, emptyResult, addImageScore, imageScore } from '../metrics/result';
import { scorePair } from '../metrics/evaluate';

export type Upscaler = (pair: ImagePair, scale: number, set: string) => Promise<RgbImage>;

export interface BenchmarkRequest {
  readonly root: string;
  readonly sets: readonly string[];
  readonly scales: readonly number[];
  readonly protocol: EvalProtocol;
  /** Only these image names (all when omitted). */
  readonly images?: readonly string[];
  /** Called after each image (progress reporting). */
  readonly onImage?: (info: { set: string; scale: number; name: string; index: number; count: number; psnr: number | null; ssim: number }) => void;
}

/** Runs `upscale` over every requested set, scale and image. Sets are checked up front. */
export async function evaluateBenchmarks(request: BenchmarkRequest, upscale: Upscaler): Promise<EvalResult> {
  const names = new Map(request.sets.map((set) => [set, benchmarkImages(request.root, set)]));
  if (request.images) {
    for (const [set, all] of names) names.set(set, all.filter((n) => request.images!.includes(n)));
  }
  let result = emptyResult(request.protocol);
  for (const set of request.sets) {
    const list = names.get(set)!;
    for (const scale of request.scales) {
      for (let i = 0; i < list.length; i++) {
        const pair = await loadBenchmarkPair(request.root, set, list[i], scale, { lr: request.protocol.lr });
        const sr = await upscale(pair, scale, set);
        const score = scorePair(sr, pair.hr, scale, request.protocol);
        result = addImageScore(result, set, scale, imageScore(pair.name, score.psnr, score.ssim));
        request.onImage?.({ set, scale, name: pair.name, index: i, count: list.length, psnr: score.psnr, ssim: score.ssim });
      }
    }
  }
  return result;
}

/** The bicubic baseline: MATLAB-compatible bicubic up-scaling of each LR image. */
export const bicubicUpscaler: Upscaler = async (pair, scale) => upscaleBicubic(pair.lr, scale);
