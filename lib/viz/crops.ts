/**
 * Image crops for visual comparisons (figure F-F): cut the same region out of several SR outputs,
 * find a detailed region worth looking at, and put the crops side by side in one image.
 * Images are 8-bit RGB, HWC (lib/data/image_types.ts); regions are in pixels of the image given.
 */
import { UserError } from '../errors';
import type { RgbImage } from '../data/image_types';

/** A rectangle: top-left corner (x right, y down) and size, in pixels. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The pixels of `region` of `img` (a copy). Throws a UserError when the region leaves the image. */
export function cropImage(img: RgbImage, region: Region): RgbImage {
  const { x, y, width, height } = region;
  const ok = [x, y, width, height].every(Number.isInteger) && x >= 0 && y >= 0 && width > 0 && height > 0
    && x + width <= img.width && y + height <= img.height;
  if (!ok) throw new UserError(`cropImage: region ${width}x${height} at (${x},${y}) does not fit in the ${img.width}x${img.height} image`);
  const data = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const src = ((y + r) * img.width + x) * 3;
    data.set(img.data.subarray(src, src + width * 3), r * width * 3);
  }
  return { width, height, data, gray: img.gray };
}

/**
 * The size x size square of `img` with the most detail: the largest sum of absolute horizontal and
 * vertical differences of the green channel, searched on a grid of `stride` pixels (default size/4).
 * Ties go to the first position in raster order. Throws when the image is smaller than the square.
 */
export function detailedRegion(img: RgbImage, size: number, stride = Math.max(1, Math.floor(size / 4))): Region {
  if (!Number.isInteger(size) || size < 2 || size > img.width || size > img.height) {
    throw new UserError(`detailedRegion: a ${size}x${size} square does not fit in the ${img.width}x${img.height} image`);
  }
  const { width: w, height: h, data } = img;
  // Per-pixel detail, then a summed-area table so every square costs four lookups.
  const integral = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const g = data[(y * w + x) * 3 + 1];
      const dx = x + 1 < w ? Math.abs(data[(y * w + x + 1) * 3 + 1] - g) : 0;
      const dy = y + 1 < h ? Math.abs(data[((y + 1) * w + x) * 3 + 1] - g) : 0;
      row += dx + dy;
      integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
    }
  }
  const at = (x: number, y: number) => integral[y * (w + 1) + x];
  let best = { x: 0, y: 0, score: -1 };
  for (let y = 0; y + size <= h; y += stride) {
    for (let x = 0; x + size <= w; x += stride) {
      const score = at(x + size, y + size) - at(x, y + size) - at(x + size, y) + at(x, y);
      if (score > best.score) best = { x, y, score };
    }
  }
  return { x: best.x, y: best.y, width: size, height: size };
}

/**
 * The images in one row, top-aligned, separated by `gap` columns of `background` (0..255 grey level,
 * default white); shorter images are padded below. Throws for an empty list.
 */
export function sideBySide(images: readonly RgbImage[], gap = 4, background = 255): RgbImage {
  if (images.length === 0) throw new UserError('sideBySide: no images');
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const data = new Uint8Array(width * height * 3).fill(background);
  let left = 0;
  for (const im of images) {
    for (let r = 0; r < im.height; r++) {
      data.set(im.data.subarray(r * im.width * 3, (r + 1) * im.width * 3), (r * width + left) * 3);
    }
    left += im.width + gap;
  }
  return { width, height, data, gray: images.every((im) => im.gray) };
}
