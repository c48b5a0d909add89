/**
 * Colour conversion for the SR metrics: the luma Y of ITU-R BT.601 in MATLAB's `rgb2ycbcr` scaling,
 * the one definition of Y in the project.
 */
import { RgbImage } from '../data/image_types';

/** BT.601 Y coefficients on 0..255 RGB (MATLAB rgb2ycbcr): Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255. */
export const BT601_Y = { offset: 16, r: 65.481, g: 128.553, b: 24.966 } as const;

/**
 * Y plane of an 8-bit RGB HWC image: [height * width] row-major float64, range 16..235, unrounded
 * (MATLAB's double-precision Y, not a uint8 store). White (255,255,255) -> 235, black -> 16.
 */
export function rgbToY(img: RgbImage): Float64Array {
  const n = img.width * img.height;
  const y = new Float64Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    y[i] = BT601_Y.offset + (BT601_Y.r * d[3 * i] + BT601_Y.g * d[3 * i + 1] + BT601_Y.b * d[3 * i + 2]) / 255;
  }
  return y;
}

/** One channel (0 = R, 1 = G, 2 = B) of an 8-bit RGB HWC image as a [height * width] float64 plane. */
export function channelPlane(img: RgbImage, channel: 0 | 1 | 2): Float64Array {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = img.data[3 * i + channel];
  return out;
}

/**
 * The gray values of an image as a [height * width] float64 plane: the mean of R, G and B, which is
 * exactly the one stored channel when the three are equal (a gray file read through readImage).
 */
export function grayPlane(img: RgbImage): Float64Array {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const r = d[3 * i], g = d[3 * i + 1], b = d[3 * i + 2];
    out[i] = r === g && g === b ? r : (r + g + b) / 3;
  }
  return out;
}
