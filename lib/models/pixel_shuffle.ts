/**
 * PyTorch's PixelShuffle in NHWC: [N, H, W, C*r*r] -> [N, H*r, W*r, C], where output pixel offset
 * (i, j) of feature c reads input channel c*r*r + i*r + j. (tf.depthToSpace reads (i*r + j)*C + c,
 * and has no gradient in tfjs, so it is not used.) Reshape + transpose, differentiable.
 */
import * as tf from '@tensorflow/tfjs';

export function pixelShuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, w, crr] = x.shape;
  if (crr % (r * r) !== 0) throw new Error(`pixelShuffle: ${crr} channels is not a multiple of ${r}x${r}`);
  const c = crr / (r * r);
  return tf.tidy(() => {
    const split = tf.reshape(x, [n, h, w, c, r, r]);
    const moved = tf.transpose(split, [0, 1, 4, 2, 5, 3]); // n, h, i, w, j, c
    return tf.reshape(moved, [n, h * r, w * r, c]) as tf.Tensor4D;
  });
}

/** The scale factors of an upsampler: x2 and x3 in one stage, x4 (and 8) as stages of x2. */
export function upsamplerStages(scale: number): number[] {
  if (scale === 2 || scale === 3) return [scale];
  if (scale === 4) return [2, 2];
  if (scale === 8) return [2, 2, 2];
  throw new Error(`upsampler: scale ${scale} is not supported (2, 3, 4 or 8)`);
}

/**
 * Output pixels per LR pixel for a conv that sits in an upsampler, given the Sequential index of
 * the conv (conv at 0, 2, 4 ... with `step` entries per stage) or `Infinity` for the conv after it.
 */
export function pixelsAfterStages(scale: number, stagesBefore: number): number {
  const stages = upsamplerStages(scale);
  let f = 1;
  for (let i = 0; i < Math.min(stagesBefore, stages.length); i++) f *= stages[i] * stages[i];
  return f;
}
