/**
 * A small BMP decoder (libvips, and so sharp, has no BMP loader). Handles what image data sets
 * ship: BITMAPINFOHEADER (or a later header) with uncompressed 24- or 32-bit pixels, or 8-bit
 * palette indices, bottom-up or top-down rows padded to 4 bytes. Anything else is refused.
 */
import { RgbImage } from './image_types';

/** Decodes `buf` (the whole file) to RGB HWC uint8. `file` only names the culprit in errors. */
export function decodeBmp(buf: Uint8Array, file: string): RgbImage {
  const fail = (reason: string): never => { throw new Error(`${file}: not a readable BMP: ${reason}`); };
  if (buf.length < 54) fail(`file is ${buf.length} bytes, shorter than a BMP header`);
  if (buf[0] !== 0x42 || buf[1] !== 0x4d) fail('missing "BM" signature');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) fail(`header of ${headerSize} bytes (OS/2 bitmaps are not supported)`);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  if (width <= 0 || rawHeight === 0) fail(`invalid size ${width}x${rawHeight}`);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  const bitfields32 = compression === 3 && bitsPerPixel === 32;
  if (compression !== 0 && !bitfields32) fail(`compression type ${compression} is not supported (only uncompressed)`);
  if (bitsPerPixel !== 24 && bitsPerPixel !== 32 && bitsPerPixel !== 8) {
    fail(`${bitsPerPixel} bits per pixel is not supported (8, 24 or 32)`);
  }
  let palette: Uint8Array | null = null;
  if (bitsPerPixel === 8) {
    const colorsUsed = view.getUint32(46, true) || 256;
    const paletteStart = 14 + headerSize;
    if (paletteStart + colorsUsed * 4 > buf.length) fail('truncated palette');
    palette = buf.subarray(paletteStart, paletteStart + colorsUsed * 4);
  }
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  const needed = dataOffset + rowBytes * (height - 1) + Math.ceil((width * bitsPerPixel) / 8);
  if (needed > buf.length) fail(`truncated pixel data (${buf.length} bytes, ${needed} needed)`);
  const data = new Uint8Array(width * height * 3);
  let gray = true;
  for (let y = 0; y < height; y++) {
    const srcRow = dataOffset + (topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      let r: number, g: number, b: number;
      if (palette) {
        const idx = buf[srcRow + x];
        if (idx * 4 + 2 >= palette.length) fail(`palette index ${idx} out of range`);
        b = palette[idx * 4]; g = palette[idx * 4 + 1]; r = palette[idx * 4 + 2];
      } else {
        const p = srcRow + x * (bitsPerPixel / 8);
        b = buf[p]; g = buf[p + 1]; r = buf[p + 2];
      }
      const o = (y * width + x) * 3;
      data[o] = r; data[o + 1] = g; data[o + 2] = b;
      if (r !== g || g !== b) gray = false;
    }
  }
  // A BMP has no grayscale type; a palette of grays is reported as such, 24-bit never is.
  return { width, height, data, gray: palette !== null && gray };
}
