/**
 * Image files in and out. PNG and JPEG (and anything else libvips reads) through sharp; BMP through
 * our own decoder. Everything becomes an 8-bit RGB HWC `RgbImage`: one channel is replicated to three,
 * alpha is dropped, 16-bit samples are reduced to 8 bits. Failures name the file and the reason.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { RgbImage } from './image_types';
import { decodeBmp } from './bmp';
import { UserError } from '../errors';

export { RgbImage } from './image_types';

/** File extensions treated as images when a folder is listed. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp'] as const;

export function isImageFile(file: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(file).toLowerCase());
}

/** Reads an image file into RGB HWC uint8. Throws UserError naming the file on any failure. */
export async function readImage(file: string): Promise<RgbImage> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read image: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d) {
    try {
      return decodeBmp(buf, file);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  return decodeWithSharp(buf, file);
}

async function decodeWithSharp(buf: Buffer, file: string): Promise<RgbImage> {
  try {
    const image = sharp(buf, { failOn: 'warning' });
    const meta = await image.metadata();
    const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    const sourceChannels = meta.channels ?? channels;
    const gray = sourceChannels <= 2; // gray or gray + alpha
    const out = new Uint8Array(width * height * 3);
    for (let i = 0, n = width * height; i < n; i++) {
      if (channels <= 2) {
        const v = data[i * channels];
        out[i * 3] = v; out[i * 3 + 1] = v; out[i * 3 + 2] = v;
      } else {
        out[i * 3] = data[i * channels];
        out[i * 3 + 1] = data[i * channels + 1];
        out[i * 3 + 2] = data[i * channels + 2];
      }
    }
    return { width, height, data: out, gray };
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0].replace(/^Input buffer /, '');
    throw new UserError(`${file}: cannot decode image: ${reason}`);
  }
}

/**
 * Writes `img` as an 8-bit RGB PNG (gray images as one channel), atomically: a temporary file in the
 * same folder, then a rename, so no half-written PNG is ever left under the final name.
 */
export async function writePng(file: string, img: RgbImage): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    let pipeline = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
      raw: { width: img.width, height: img.height, channels: 3 },
    });
    if (img.gray) pipeline = pipeline.extractChannel(0).toColourspace('b-w');
    await pipeline.png().toFile(tmp);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw new UserError(`${file}: cannot write PNG: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Top-left crop to (width, height), as the SR benchmarks crop HR to a multiple of the scale. */
export function cropTopLeft(img: RgbImage, width: number, height: number): RgbImage {
  if (width > img.width || height > img.height) {
    throw new RangeError(`cropTopLeft: ${width}x${height} is larger than the image (${img.width}x${img.height})`);
  }
  if (width === img.width && height === img.height) return img;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    data.set(img.data.subarray(y * img.width * 3, y * img.width * 3 + width * 3), y * width * 3);
  }
  return { width, height, data, gray: img.gray };
}
