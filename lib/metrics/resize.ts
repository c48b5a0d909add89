/**
 * MATLAB-compatible bicubic `imresize` on 8-bit images, computed in float64 typed arrays.
 *
 * Semantics of MATLAB's `imresize(uint8Image, scale, 'bicubic')`, which made the standard LR files of
 * the SR benchmarks (EDSR `LR_bicubic`):
 * - output size ceil(h * scale) x ceil(w * scale);
 * - Keys cubic kernel with a = -0.5 (`cubicKernel`), support [-2, 2];
 * - antialiasing when shrinking: the kernel is stretched by 1/scale (h(x) = scale * cubic(scale * x),
 *   width 4/scale); enlarging uses the plain kernel;
 * - output pixel x (1-based) maps to input coordinate u = x/scale + 0.5 (1 - 1/scale); taps
 *   floor(u - width/2) + 0 .. ceil(width) + 1, weights normalised to sum 1 per output pixel;
 * - symmetric edge padding with the edge pixel repeated (input index -1 reads 0, -2 reads 1, ...);
 * - the height pass first, then the width pass (MATLAB orders passes by scale, stable for a tie);
 * - each pass's float64 result rounded half up and clamped to 0..255, as MATLAB stores a uint8
 *   intermediate. Rounding only once at the end does not reproduce the standard LR files.
 *
 * The rounding here is MATLAB's (half up). The SR-output quantisation (`toUint8Image`, half to even)
 * and the network quantizers round differently on purpose; do not share a helper with them.
 */
import { RgbImage } from '../data/image_types';
import { cropTopLeft } from '../data/image';

/** Keys cubic convolution kernel, a = -0.5 (MATLAB `cubic`). Zero outside |x| <= 2. */
export function cubicKernel(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

/**
 * Per-output-pixel taps along one axis: output o (0-based) reads input indices
 * `indices[o * taps + k]` (already mirrored into 0..inLength-1) with weights `weights[o * taps + k]`.
 */
export interface ResizeTaps {
  readonly outLength: number;
  readonly taps: number;
  readonly indices: Int32Array;
  readonly weights: Float64Array;
}

/** Mirrors a 0-based index into 0..n-1, MATLAB style: the edge pixel is repeated (-1 -> 0, n -> n-1). */
function mirrorIndex(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/**
 * The taps and normalised weights of one resize axis (MATLAB `contributions`). `scale` is the
 * output/input ratio; antialiasing applies when scale < 1. Columns of weights that are zero for every
 * output pixel are kept: they add exact zeros, which leaves every sum unchanged.
 */
export function resizeTaps(inLength: number, outLength: number, scale: number): ResizeTaps {
  const shrink = scale < 1;
  const kernelWidth = shrink ? 4 / scale : 4;
  const taps = Math.ceil(kernelWidth) + 2;
  const indices = new Int32Array(outLength * taps);
  const weights = new Float64Array(outLength * taps);
  for (let o = 0; o < outLength; o++) {
    const x = o + 1; // MATLAB's 1-based output coordinate
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const d = u - (left + k);
      const w = shrink ? scale * cubicKernel(scale * d) : cubicKernel(d);
      weights[o * taps + k] = w;
      sum += w;
      indices[o * taps + k] = mirrorIndex(left + k - 1, inLength); // back to 0-based
    }
    for (let k = 0; k < taps; k++) weights[o * taps + k] /= sum;
  }
  return { outLength, taps, indices, weights };
}

/** MATLAB's double -> uint8 store for a non-negative-or-clamped value: round half up, saturate. */
function storeUint8HalfUp(v: number): number {
  if (v <= 0) return 0;
  if (v >= 255) return 255;
  return Math.round(v);
}

/** Height pass: HWC uint8 (w x inH) -> HWC uint8 (w x t.outLength), 3 channels. */
function resizeRows(src: Uint8Array, width: number, t: ResizeTaps): Uint8Array {
  const rowLen = width * 3;
  const out = new Uint8Array(t.outLength * rowLen);
  const acc = new Float64Array(rowLen);
  for (let o = 0; o < t.outLength; o++) {
    acc.fill(0);
    for (let k = 0; k < t.taps; k++) {
      const w = t.weights[o * t.taps + k];
      const base = t.indices[o * t.taps + k] * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += w * src[base + i];
    }
    const ob = o * rowLen;
    for (let i = 0; i < rowLen; i++) out[ob + i] = storeUint8HalfUp(acc[i]);
  }
  return out;
}

/** Width pass: HWC uint8 (inW x height) -> HWC uint8 (t.outLength x height), 3 channels. */
function resizeCols(src: Uint8Array, inWidth: number, height: number, t: ResizeTaps): Uint8Array {
  const outW = t.outLength;
  const out = new Uint8Array(height * outW * 3);
  for (let y = 0; y < height; y++) {
    const rb = y * inWidth * 3;
    const ob = y * outW * 3;
    for (let o = 0; o < outW; o++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < t.taps; k++) {
        const w = t.weights[o * t.taps + k];
        const p = rb + t.indices[o * t.taps + k] * 3;
        r += w * src[p];
        g += w * src[p + 1];
        b += w * src[p + 2];
      }
      out[ob + o * 3] = storeUint8HalfUp(r);
      out[ob + o * 3 + 1] = storeUint8HalfUp(g);
      out[ob + o * 3 + 2] = storeUint8HalfUp(b);
    }
  }
  return out;
}

/** Resize to an explicit size with MATLAB's per-axis scale `scale` (shared by both axes). */
function resizeTo(img: RgbImage, scale: number, outH: number, outW: number): RgbImage {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`imresize: scale must be a positive number, got ${scale}`);
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`imresize: data has ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
  }
  if (outH < 1 || outW < 1) throw new RangeError(`imresize: output size ${outW}x${outH} is empty`);
  const rows = resizeRows(img.data, img.width, resizeTaps(img.height, outH, scale));
  const data = resizeCols(rows, img.width, outH, resizeTaps(img.width, outW, scale));
  return { width: outW, height: outH, data, gray: img.gray };
}

/**
 * MATLAB `imresize(img, scale, 'bicubic')` on an 8-bit RGB HWC image. Output is
 * ceil(height * scale) x ceil(width * scale), 8-bit, `gray` preserved (equal channels stay equal).
 */
export function imresize(img: RgbImage, scale: number): RgbImage {
  return resizeTo(img, scale, Math.ceil(img.height * scale), Math.ceil(img.width * scale));
}

/**
 * The standard LR image of an HR image for integer factor `s`: HR cropped top-left to a multiple of s,
 * then `imresize(1/s)`. Output (floor(w/s) x floor(h/s)). Reproduces the EDSR `LR_bicubic` files.
 * The output size is taken as the exact quotient rather than ceil((h - h mod s) * (1/s)), which is the
 * same number without relying on floating-point rounding of 1/s.
 */
export function downscaleBicubic(hr: RgbImage, s: number): RgbImage {
  checkFactor(s, 'downscaleBicubic');
  const w = Math.floor(hr.width / s), h = Math.floor(hr.height / s);
  if (w < 1 || h < 1) throw new RangeError(`downscaleBicubic: ${hr.width}x${hr.height} is smaller than the factor ${s}`);
  return resizeTo(cropTopLeft(hr, w * s, h * s), 1 / s, h, w);
}

/** Bicubic up-scaling by integer factor `s` (the bicubic SR baseline): (w*s x h*s), 8-bit. */
export function upscaleBicubic(lr: RgbImage, s: number): RgbImage {
  checkFactor(s, 'upscaleBicubic');
  return resizeTo(lr, s, lr.height * s, lr.width * s);
}

function checkFactor(s: number, fn: string): void {
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`${fn}: the scale factor must be a positive integer, got ${s}`);
}
