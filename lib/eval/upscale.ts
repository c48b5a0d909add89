/**
 * Runs a network on a whole LR image (batch 1), optionally tile by tile to bound memory.
 *
 * Tiling: the LR image is cut into tiles of `tile` x `tile` pixels, each padded by an overlap of at
 * least the network's receptive-field radius (taken from its convs), run on its own, and only its
 * centre is kept; so a full-precision result equals the untiled one up to float summation order.
 * A network with dynamic gates is refused: a gate pools its input over the whole image, so a tile
 * would see other bounds than the image does.
 */
import * as tf from '@tensorflow/tfjs';
import { RgbImage } from '../data/image';
import { Conv2d } from '../nn/conv';
import { toUint8Image } from '../metrics/evaluate';
import { SrNetwork } from '../models/types';
import { UserError } from '../errors';

/** Receptive-field radius of `model` in LR pixels: each conv's (k-1)/2 at its resolution, summed. */
export function receptiveRadiusLR(model: SrNetwork): number {
  let radius = 0;
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Conv2d) || name.includes('.atten_c.')) continue;
    radius += (m.config.kernel - 1) / 2 / Math.sqrt(model.resolutionOf(name));
  }
  return Math.ceil(radius);
}

/** The raw SR output of one image as floats, HWC, [H*s, W*s, 3]. */
function forwardImage(model: SrNetwork, lr: RgbImage, x0: number, y0: number, w: number, h: number): Float32Array {
  // The tidy returns the tensor, not its values: tf.tidy walks every key of what it returns, which
  // for a 12-million-element typed array costs more than the network's forward.
  const sr = tf.tidy(() => {
    const patch = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let i = 0; i < w * 3; i++) patch[y * w * 3 + i] = lr.data[((y0 + y) * lr.width + x0) * 3 + i];
    }
    return model.forward(tf.tensor4d(patch, [1, h, w, 3])).sr;
  });
  try {
    return sr.dataSync() as Float32Array;
  } finally {
    sr.dispose();
  }
}

export interface UpscaleOptions {
  /** LR tile size; 0 or undefined: the whole image at once. */
  readonly tile?: number;
}

/** The SR output of `lr` as raw floats (HWC, not rounded), whole or tiled. */
export function upscaleRaw(model: SrNetwork, lr: RgbImage, options: UpscaleOptions = {}): Float32Array {
  const s = model.scale;
  const tile = options.tile ?? 0;
  if (!tile || (tile >= lr.width && tile >= lr.height)) return forwardImage(model, lr, 0, 0, lr.width, lr.height);
  if (model.quant?.graph.acts.some((a) => a.dynamic)) {
    throw new UserError('--tile: this model has dynamic gates, which pool over the whole image; tiling would change their bounds (run without --tile)');
  }
  if (!Number.isInteger(tile) || tile < 8) throw new UserError(`--tile: ${tile} is not an integer of at least 8`);
  const pad = receptiveRadiusLR(model);
  const W = lr.width * s, out = new Float32Array(lr.width * s * lr.height * s * 3);
  for (let ty = 0; ty < lr.height; ty += tile) {
    for (let tx = 0; tx < lr.width; tx += tile) {
      const x0 = Math.max(0, tx - pad), y0 = Math.max(0, ty - pad);
      const x1 = Math.min(lr.width, tx + tile + pad), y1 = Math.min(lr.height, ty + tile + pad);
      const sr = forwardImage(model, lr, x0, y0, x1 - x0, y1 - y0);
      const srW = (x1 - x0) * s;
      const keepW = (Math.min(lr.width, tx + tile) - tx) * s, keepH = (Math.min(lr.height, ty + tile) - ty) * s;
      const offX = (tx - x0) * s, offY = (ty - y0) * s;
      for (let y = 0; y < keepH; y++) {
        const src = ((offY + y) * srW + offX) * 3;
        out.set(sr.subarray(src, src + keepW * 3), ((ty * s + y) * W + tx * s) * 3);
      }
    }
  }
  return out;
}

/** The SR image of `lr`: raw output rounded half to even and clamped to uint8 (spec 8). */
export function upscaleImage(model: SrNetwork, lr: RgbImage, options: UpscaleOptions = {}): RgbImage {
  return toUint8Image(upscaleRaw(model, lr, options), lr.width * model.scale, lr.height * model.scale, false);
}
