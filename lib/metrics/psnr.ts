/**
 * PSNR of the SR literature (MATLAB scripts): peak 255, on float64 planes, after a border shave.
 * A plane is a [height * width] row-major Float64Array (a Y plane from `rgbToY`, or one channel).
 */

/** Checks that `shave` leaves pixels of a width x height plane and returns the kept ranges. */
export function shavedRegion(width: number, height: number, shave: number, what: string): { x0: number; x1: number; y0: number; y1: number } {
  if (!Number.isInteger(shave) || shave < 0) throw new RangeError(`${what}: border shave must be a non-negative integer, got ${shave}`);
  if (2 * shave >= width || 2 * shave >= height) {
    throw new RangeError(`${what}: a border shave of ${shave} leaves nothing of a ${width}x${height} image`);
  }
  return { x0: shave, x1: width - shave, y0: shave, y1: height - shave };
}

function checkPlanes(a: Float64Array, b: Float64Array, width: number, height: number, what: string): void {
  if (a.length !== width * height || b.length !== width * height) {
    throw new RangeError(`${what}: planes of ${a.length} and ${b.length} values do not match ${width}x${height}`);
  }
}

/** Mean squared error over the plane with `shave` pixels cut from each side (units: value^2). */
export function meanSquaredError(a: Float64Array, b: Float64Array, width: number, height: number, shave = 0): number {
  checkPlanes(a, b, width, height, 'meanSquaredError');
  const r = shavedRegion(width, height, shave, 'meanSquaredError');
  let sum = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0, i = y * width + r.x0; x < r.x1; x++, i++) {
      const d = a[i] - b[i];
      sum += d * d;
    }
  }
  return sum / ((r.x1 - r.x0) * (r.y1 - r.y0));
}

/** PSNR in dB from a mean squared error: 10 log10(peak^2 / mse). Infinity when mse is 0. */
export function psnrFromMse(mse: number, peak = 255): number {
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/**
 * PSNR in dB of two planes (values on the 0..255 scale), `shave` pixels cut from each side, peak 255.
 * Identical planes give Infinity. Example: constant 100 against constant 101 -> 20 log10(255) = 48.13 dB.
 */
export function psnr(a: Float64Array, b: Float64Array, width: number, height: number, shave = 0): number {
  return psnrFromMse(meanSquaredError(a, b, width, height, shave));
}
