/**
 * SSIM of Wang et al. (2004) as their MATLAB `ssim_index` computes it: 11x11 Gaussian window with
 * sigma 1.5 normalised to sum 1, K1 = 0.01, K2 = 0.03, dynamic range L = 255, 'valid' filtering (no
 * padding), the mean of the SSIM map. No automatic down-sampling (that is MATLAB's later `ssim`).
 * Planes are [height * width] row-major float64 on the 0..255 scale.
 */
import { shavedRegion } from './psnr';

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;
export const SSIM_RANGE = 255;

/** The normalised 1-D Gaussian (length 11, sigma 1.5); the 2-D window is its outer product. */
export function gaussianWindow1d(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) { g[i] = Math.exp(-((i - c) * (i - c)) / (2 * sigma * sigma)); sum += g[i]; }
  for (let i = 0; i < size; i++) g[i] /= sum;
  return g;
}

/** 'valid' correlation of a w x h plane with the separable window g x g: (w-n+1) x (h-n+1) out. */
function filterValid(src: Float64Array, w: number, h: number, g: Float64Array): Float64Array {
  const n = g.length, ow = w - n + 1, oh = h - n + 1;
  const tmp = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    const rb = y * w;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += g[k] * src[rb + x + k];
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let k = 0; k < n; k++) {
      const wk = g[k], rb = (y + k) * ow;
      for (let x = 0; x < ow; x++) out[y * ow + x] += wk * tmp[rb + x];
    }
  }
  return out;
}

/**
 * Mean SSIM of two planes after cutting `shave` pixels from each side. The shaved region must be at
 * least 11x11. Identical planes give exactly 1 (numerator and denominator are then the same floats).
 */
export function ssim(a: Float64Array, b: Float64Array, width: number, height: number, shave = 0): number {
  if (a.length !== width * height || b.length !== width * height) {
    throw new RangeError(`ssim: planes of ${a.length} and ${b.length} values do not match ${width}x${height}`);
  }
  const r = shavedRegion(width, height, shave, 'ssim');
  const w = r.x1 - r.x0, h = r.y1 - r.y0;
  if (w < SSIM_WINDOW || h < SSIM_WINDOW) {
    throw new RangeError(`ssim: the region ${w}x${h} is smaller than the ${SSIM_WINDOW}x${SSIM_WINDOW} window`);
  }
  const n = w * h;
  const pa = new Float64Array(n), pb = new Float64Array(n);
  const aa = new Float64Array(n), bb = new Float64Array(n), ab = new Float64Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y + r.y0) * width + x + r.x0, j = y * w + x;
      const va = a[i], vb = b[i];
      pa[j] = va; pb[j] = vb; aa[j] = va * va; bb[j] = vb * vb; ab[j] = va * vb;
    }
  }
  const g = gaussianWindow1d();
  const mu1 = filterValid(pa, w, h, g), mu2 = filterValid(pb, w, h, g);
  const s11 = filterValid(aa, w, h, g), s22 = filterValid(bb, w, h, g), s12 = filterValid(ab, w, h, g);
  const c1 = (SSIM_K1 * SSIM_RANGE) ** 2, c2 = (SSIM_K2 * SSIM_RANGE) ** 2;
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i], m2 = mu2[i];
    const m11 = m1 * m1, m22 = m2 * m2, m12 = m1 * m2;
    const v1 = s11[i] - m11, v2 = s22[i] - m22, v12 = s12[i] - m12;
    sum += ((2 * m12 + c1) * (2 * v12 + c2)) / ((m11 + m22 + c1) * (v1 + v2 + c2));
  }
  return sum / mu1.length;
}
