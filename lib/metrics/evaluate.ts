/**
 * Scoring one SR image against its HR image under an `EvalProtocol`, and turning float SR output into
 * the 8-bit image the literature scores.
 */
import { RgbImage } from '../data/image_types';
import { cropTopLeft } from '../data/image';
import { rgbToY, channelPlane, grayPlane } from './color';
import { meanSquaredError, psnrFromMse } from './psnr';
import { ssim } from './ssim';
import { EvalProtocol } from './result';

/** torch.round: nearest integer, ties to the even one (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2). */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * SR network output to an 8-bit image as the PyTorch SR code saves it: each value rounded half to
 * even (torch.round), then clamped to 0..255. values: [height * width * 3] HWC RGB on the 0..255
 * scale (float32 or float64). `gray` is carried into the image as given.
 */
export function toUint8Image(values: Float32Array | Float64Array, width: number, height: number, gray = false): RgbImage {
  if (values.length !== width * height * 3) {
    throw new RangeError(`toUint8Image: ${values.length} values do not make a ${width}x${height}x3 image`);
  }
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) throw new RangeError(`toUint8Image: value ${i} is NaN`);
    const r = roundHalfEven(v);
    data[i] = r <= 0 ? 0 : r >= 255 ? 255 : r;
  }
  return { width, height, data, gray };
}

/** One pair's scores. psnr in dB, null when the scored planes are identical (identical: true). */
export interface PairScore {
  readonly psnr: number | null;
  readonly ssim: number;
  readonly identical: boolean;
}

/** The border shave in pixels that `protocol` asks for at factor `scale`. */
export function shaveFor(protocol: EvalProtocol, scale: number): number {
  return protocol.shave === 'scale' ? scale : protocol.shave;
}

/**
 * Scores an SR image against its HR image. HR is cropped top-left to the SR size (HR that is not a
 * multiple of the scale); SR larger than HR is an error. Then `shaveFor(protocol, scale)` pixels are
 * cut from each side, and:
 * - channel 'y': PSNR and SSIM on BT.601 Y (`rgbToY`, double precision);
 * - channel 'rgb': PSNR from the MSE over all three channels; SSIM stays on Y, as the literature
 *   reports SSIM on Y only (an RGB SSIM would not be comparable with any published table);
 * - gray 'raw' and an HR file that was single-channel (`hr.gray`): both images are scored on their
 *   gray values instead (HR's one channel; SR's channel mean, which is its one channel when its three
 *   channels are equal, as bicubic up-scaling of a gray image keeps them), for PSNR and SSIM, whatever
 *   `channel` says. This is how the published Set14 rows treat bridge.png. gray 'replicate' scores a
 *   gray file like any RGB one (its Y is 16 + 219/255 v, about 1.3 dB higher PSNR than raw).
 */
export function scorePair(sr: RgbImage, hr: RgbImage, scale: number, protocol: EvalProtocol): PairScore {
  if (sr.width > hr.width || sr.height > hr.height) {
    throw new RangeError(`scorePair: SR ${sr.width}x${sr.height} is larger than HR ${hr.width}x${hr.height}`);
  }
  const ref = cropTopLeft(hr, sr.width, sr.height);
  const { width, height } = sr;
  const shave = shaveFor(protocol, scale);
  let mse: number, ssimValue: number;
  if (protocol.gray === 'raw' && hr.gray) {
    const a = grayPlane(sr), b = grayPlane(ref);
    mse = meanSquaredError(a, b, width, height, shave);
    ssimValue = ssim(a, b, width, height, shave);
  } else {
    const a = rgbToY(sr), b = rgbToY(ref);
    ssimValue = ssim(a, b, width, height, shave);
    if (protocol.channel === 'y') {
      mse = meanSquaredError(a, b, width, height, shave);
    } else {
      mse = 0;
      for (const c of [0, 1, 2] as const) {
        mse += meanSquaredError(channelPlane(sr, c), channelPlane(ref, c), width, height, shave) / 3;
      }
    }
  }
  const p = psnrFromMse(mse);
  return p === Infinity ? { psnr: null, ssim: ssimValue, identical: true } : { psnr: p, ssim: ssimValue, identical: false };
}
