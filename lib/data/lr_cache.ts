/**
 * Cache of generated LR images (for sets that ship no standard `LR_bicubic` files, e.g. Set14, B100,
 * Urban100, T91). The LR is `downscaleBicubic(hr, s)` (MATLAB bicubic, `lib/metrics/resize.ts`).
 *
 * - Location: `out/cache/lr/` under the repository (git-ignored), never under the data root, which
 *   may be read-only.
 * - Key: sha256 over the HR file's bytes, the scale and `LR_RECIPE_VERSION`. An edited HR file or a
 *   changed recipe gives another key, so an old entry is simply never looked up again.
 * - Entry: `<key>.png`, written atomically (temporary file + rename) by `writePng`.
 * - A hit is used only when the file decodes and has the expected size (floor(w/s) x floor(h/s));
 *   anything else (a truncated or foreign file) is regenerated and replaced.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { outDir } from '../paths';
import { downscaleBicubic } from '../metrics/resize';
import { RgbImage, readImage, writePng } from './image';

/**
 * Names the LR recipe. Bump it when `downscaleBicubic` changes its output, so that entries made by
 * the old recipe get other keys and are never read.
 */
export const LR_RECIPE_VERSION = 'matlab-bicubic-v1';

/** Default cache folder: `<repo>/out/cache/lr`. */
export const defaultLrCacheDir = path.join(outDir, 'cache', 'lr');

export interface LrCacheOptions {
  /** Cache folder; default `defaultLrCacheDir`. Tests pass a temporary folder. */
  readonly cacheDir?: string;
}

/** How the LR was obtained: read from a valid entry, made because none existed, or made to replace a bad one. */
export type LrCacheOutcome = 'hit' | 'generated' | 'replaced';

export interface CachedLr {
  /** The LR image, floor(w/s) x floor(h/s), `gray` as the HR. */
  readonly lr: RgbImage;
  readonly outcome: LrCacheOutcome;
  /** The cache entry's path. */
  readonly file: string;
}

/** The cache key: sha256 hex over the HR file bytes, then `\0x<scale>\0<recipe>`. */
export function lrCacheKey(hrBytes: Uint8Array, scale: number, recipe: string = LR_RECIPE_VERSION): string {
  return crypto.createHash('sha256').update(hrBytes).update(`\0x${scale}\0${recipe}`).digest('hex');
}

/** Entries being made in this process, so that concurrent requests for one key share one job. */
const inFlight = new Map<string, Promise<CachedLr>>();
/** Cache folders we already failed to write to (warned once each). */
const unwritable = new Set<string>();

/**
 * The generated LR of `hr` (decoded from `hrFile`) at integer `scale`, from the cache when a valid
 * entry exists, else computed and stored. `hr` must be the decoded content of `hrFile`: the key is
 * taken from the file's bytes, the pixels from `hr`. A cache folder that cannot be written is
 * reported once on stderr and the computed LR is returned anyway.
 */
export async function cachedDownscale(hrFile: string, hr: RgbImage, scale: number, options: LrCacheOptions = {}): Promise<CachedLr> {
  const dir = options.cacheDir ?? defaultLrCacheDir;
  const bytes = await fs.promises.readFile(hrFile);
  const file = path.join(dir, `${lrCacheKey(bytes, scale)}.png`);
  const pending = inFlight.get(file);
  if (pending) return pending;
  const job = lookupOrMake(file, hr, scale).finally(() => inFlight.delete(file));
  inFlight.set(file, job);
  return job;
}

async function lookupOrMake(file: string, hr: RgbImage, scale: number): Promise<CachedLr> {
  const width = Math.floor(hr.width / scale), height = Math.floor(hr.height / scale);
  let outcome: LrCacheOutcome = 'generated';
  if (fs.existsSync(file)) {
    const entry = await readImage(file).catch(() => null);
    if (entry && entry.width === width && entry.height === height && entry.gray === hr.gray) {
      return { lr: entry, outcome: 'hit', file };
    }
    outcome = 'replaced';
  }
  const lr = downscaleBicubic(hr, scale);
  try {
    await writePng(file, lr);
  } catch (e) {
    const dir = path.dirname(file);
    if (!unwritable.has(dir)) {
      unwritable.add(dir);
      console.warn(`LR cache ${dir}: cannot write (${(e as Error).message}); generated LR images are not kept`);
    }
  }
  return { lr, outcome, file };
}
