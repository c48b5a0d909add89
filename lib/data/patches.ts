/**
 * Aligned random LR/HR training patches with the 8 dihedral augmentations (spec §7.3), drawn from the
 * project's PRNG so that a run is deterministic for a seed and can be saved and resumed exactly.
 *
 * One patch: an LR square of `patchSizeHR / scale` pixels at a uniformly random integer position
 * (x drawn first, then y), the HR square of `patchSizeHR` at `scale` times that position, then three
 * coin flips in this order: horizontal flip, vertical flip, transpose (H <-> W), each with probability
 * 1/2, applied in that order and identically to LR and HR.
 *
 * Image order: as the official code cycles `idx mod n` over a shuffled index list, the sampler walks
 * an epoch order (a random permutation of the images, each repeated `repeat` times) drawn from the
 * PRNG at the start of each epoch, with an explicit position; `samplerState()` saves all of it.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { ensureBackend } from '../backend';
import { RgbImage } from './image';
import { Prng } from './prng';

/** One of the 8 dihedral transforms as its three flags, applied hflip, then vflip, then transpose. */
export interface Dihedral {
  readonly hflip: boolean;
  readonly vflip: boolean;
  readonly transpose: boolean;
}

/** All 8 transforms; index = hflip + 2 vflip + 4 transpose. */
export const DIHEDRAL_TRANSFORMS: readonly Dihedral[] = Array.from({ length: 8 }, (_, k) => ({
  hflip: (k & 1) !== 0,
  vflip: (k & 2) !== 0,
  transpose: (k & 4) !== 0,
}));

/** Where one patch comes from: LR top-left (x, y) in LR pixels and the augmentation. */
export interface PatchDraw {
  readonly x: number;
  readonly y: number;
  readonly aug: Dihedral;
}

/** The smallest pair interface the sampler needs (`ImagePair` from datasets.ts satisfies it). */
export interface PatchSource {
  readonly name: string;
  readonly hr: RgbImage;
  readonly lr: RgbImage;
}

/**
 * Draws one patch position and augmentation for an LR image of lrWidth x lrHeight and an LR patch of
 * `patchSizeLR`: x = nextInt(lrWidth - p + 1), y = nextInt(lrHeight - p + 1), then hflip, vflip,
 * transpose each as `nextFloat() < 0.5`. Exactly five draws from `rng`.
 */
export function drawPatch(rng: Prng, lrWidth: number, lrHeight: number, patchSizeLR: number): PatchDraw {
  const x = rng.nextInt(lrWidth - patchSizeLR + 1);
  const y = rng.nextInt(lrHeight - patchSizeLR + 1);
  const hflip = rng.nextFloat() < 0.5;
  const vflip = rng.nextFloat() < 0.5;
  const transpose = rng.nextFloat() < 0.5;
  return { x, y, aug: { hflip, vflip, transpose } };
}

/**
 * Writes the size x size crop of `img` at (x0, y0), transformed by `aug`, into `out` at `offset`
 * as float32 HWC on the 0..255 scale. Output pixel (ox, oy) reads crop pixel (c, r) with
 * r = transpose ? ox : oy, c = transpose ? oy : ox, then r -> size-1-r if vflip, c -> size-1-c if hflip
 * (the inverse of: hflip the crop, then vflip it, then transpose it).
 */
export function writePatch(img: RgbImage, x0: number, y0: number, size: number, aug: Dihedral, out: Float32Array, offset: number): void {
  if (x0 < 0 || y0 < 0 || x0 + size > img.width || y0 + size > img.height) {
    throw new RangeError(`writePatch: ${size}x${size} at (${x0}, ${y0}) is outside the ${img.width}x${img.height} image`);
  }
  const { data, width } = img;
  let o = offset;
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      let r = aug.transpose ? ox : oy;
      let c = aug.transpose ? oy : ox;
      if (aug.vflip) r = size - 1 - r;
      if (aug.hflip) c = size - 1 - c;
      const i = ((y0 + r) * width + (x0 + c)) * 3;
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
      o += 3;
    }
  }
}

export interface PatchSamplerConfig {
  /** Integer scale factor; HR is `scale` times LR in each dimension. */
  readonly scale: number;
  /** HR patch side in pixels (the spec's "patch size"); must be a multiple of `scale`. */
  readonly patchSizeHR: number;
  /** Patches per batch (16 in the paper). */
  readonly batchSize: number;
  /** Integer PRNG seed. */
  readonly seed: number;
  /** Times each image appears in one epoch order (the official `--repeat`, 20 for DIV2K); default 1. */
  readonly repeat?: number;
}

/**
 * A batch of patches, float32 NHWC on the 0..255 scale: `lr` is [batchSize, p/s, p/s, 3] and `hr`
 * is [batchSize, p, p, 3] (p = patchSizeHR). `images` names each patch's source image.
 */
export interface PatchBatch {
  readonly lr: Float32Array;
  readonly hr: Float32Array;
  readonly batchSize: number;
  readonly patchSizeLR: number;
  readonly patchSizeHR: number;
  readonly images: string[];
}

/** The sampler's whole position, JSON-safe, for checkpoints. */
export interface SamplerState {
  readonly version: 1;
  /** PRNG state words (`Prng.state()`). */
  readonly rng: number[];
  /** Epochs started so far (0 before the first draw). */
  readonly epoch: number;
  /** The current epoch's order, as indices into the usable images. */
  readonly order: number[];
  /** Next position in `order`. */
  readonly position: number;
  /** Usable images at save time, checked on restore. */
  readonly images: number;
}

/**
 * Draws aligned, augmented patch batches from in-memory image pairs. Images whose HR is smaller
 * than the HR patch are left out, with one `console.warn` naming them.
 */
export class PatchSampler {
  readonly scale: number;
  readonly patchSizeHR: number;
  readonly patchSizeLR: number;
  readonly batchSize: number;
  readonly repeat: number;
  /** Names of the images left out because they are smaller than the HR patch. */
  readonly skipped: readonly string[];
  private readonly images: readonly PatchSource[];
  private rng: Prng;
  private epoch = 0;
  private order: number[] = [];
  private position = 0;

  constructor(pairs: readonly PatchSource[], config: PatchSamplerConfig) {
    const { scale, patchSizeHR, batchSize, seed } = config;
    const repeat = config.repeat ?? 1;
    if (!Number.isInteger(scale) || scale < 1) throw new UserError(`patch sampler: scale must be a positive integer, got ${scale}`);
    if (!Number.isInteger(patchSizeHR) || patchSizeHR < scale || patchSizeHR % scale !== 0) {
      throw new UserError(`patch sampler: patchSizeHR ${patchSizeHR} must be a positive multiple of the scale ${scale}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`patch sampler: batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(repeat) || repeat < 1) throw new UserError(`patch sampler: repeat must be a positive integer, got ${repeat}`);
    this.scale = scale;
    this.patchSizeHR = patchSizeHR;
    this.patchSizeLR = patchSizeHR / scale;
    this.batchSize = batchSize;
    this.repeat = repeat;
    for (const p of pairs) {
      if (Math.floor(p.hr.width / scale) !== p.lr.width || Math.floor(p.hr.height / scale) !== p.lr.height) {
        throw new UserError(`patch sampler: image ${p.name}: HR ${p.hr.width}x${p.hr.height} and LR ${p.lr.width}x${p.lr.height} do not match at scale ${scale}`);
      }
    }
    const small = pairs.filter((p) => p.lr.width < this.patchSizeLR || p.lr.height < this.patchSizeLR);
    this.skipped = small.map((p) => p.name);
    this.images = pairs.filter((p) => !small.includes(p));
    if (small.length > 0) {
      const list = small.map((p) => `${p.name} (${p.hr.width}x${p.hr.height})`).join(', ');
      console.warn(`patch sampler: skipping ${small.length} of ${pairs.length} images smaller than the ${patchSizeHR}x${patchSizeHR} HR patch: ${list}`);
    }
    if (this.images.length === 0) {
      throw new UserError(`patch sampler: no image is at least ${patchSizeHR}x${patchSizeHR} (HR patch at scale ${scale})`);
    }
    this.rng = Prng.fromSeed(seed);
  }

  /** Usable images (after skipping small ones). */
  get imageCount(): number {
    return this.images.length;
  }

  /** Index (into the usable images) of the next patch's image, starting a new epoch order when due. */
  private nextImage(): number {
    if (this.position >= this.order.length) {
      const n = this.images.length;
      this.order = this.rng.permutation(n * this.repeat).map((k) => k % n);
      this.position = 0;
      this.epoch++;
    }
    return this.order[this.position++];
  }

  /** The next batch: for each patch, the image from the epoch order, then `drawPatch`. */
  nextBatch(): PatchBatch {
    const q = this.patchSizeLR, p = this.patchSizeHR, s = this.scale;
    const lr = new Float32Array(this.batchSize * q * q * 3);
    const hr = new Float32Array(this.batchSize * p * p * 3);
    const images: string[] = [];
    for (let b = 0; b < this.batchSize; b++) {
      const img = this.images[this.nextImage()];
      const d = drawPatch(this.rng, img.lr.width, img.lr.height, q);
      writePatch(img.lr, d.x, d.y, q, d.aug, lr, b * q * q * 3);
      writePatch(img.hr, d.x * s, d.y * s, p, d.aug, hr, b * p * p * 3);
      images.push(img.name);
    }
    return { lr, hr, batchSize: this.batchSize, patchSizeLR: q, patchSizeHR: p, images };
  }

  /** Saves the full position (PRNG, epoch order and index), JSON-safe. */
  samplerState(): SamplerState {
    return { version: 1, rng: this.rng.state(), epoch: this.epoch, order: [...this.order], position: this.position, images: this.images.length };
  }

  /**
   * Restores a position saved by `samplerState()` of a sampler over the same images and config;
   * the following batches are then identical to those the saved sampler would have produced.
   */
  restore(state: SamplerState): void {
    const n = this.images.length;
    if (state.version !== 1) throw new UserError(`patch sampler: state version ${String(state.version)} is not supported (expected 1)`);
    if (state.images !== n) throw new UserError(`patch sampler: state was saved over ${state.images} images, this sampler has ${n}`);
    if (!Array.isArray(state.order) || !state.order.every((k) => Number.isInteger(k) && k >= 0 && k < n)) {
      throw new UserError(`patch sampler: state order has indices outside 0..${n - 1}`);
    }
    if (!Number.isInteger(state.position) || state.position < 0 || state.position > state.order.length) {
      throw new UserError(`patch sampler: state position ${state.position} is outside its order of ${state.order.length}`);
    }
    this.rng = Prng.fromState(state.rng);
    this.epoch = state.epoch;
    this.order = [...state.order];
    this.position = state.position;
  }
}

/**
 * The batch as tfjs tensors: lr [N, p/s, p/s, 3] and hr [N, p, p, 3], float32, 0..255.
 * The caller owns (and disposes) both.
 */
export function batchTensors(batch: PatchBatch): { lr: tf.Tensor4D; hr: tf.Tensor4D } {
  ensureBackend();
  const { batchSize: n, patchSizeLR: q, patchSizeHR: p } = batch;
  return { lr: tf.tensor4d(batch.lr, [n, q, q, 3], 'float32'), hr: tf.tensor4d(batch.hr, [n, p, p, 3], 'float32') };
}
