/**
 * Parameter initialisation from a seedable random source (never tfjs's random ops, whose state
 * cannot be saved). Any object with `nextFloat()` in [0, 1) will do; lib/data/prng.ts provides one.
 */
import * as tf from '@tensorflow/tfjs';

export interface RandomSource {
  /** A uniform draw in [0, 1). */
  nextFloat(): number;
}

/** uniform(-bound, bound) of `shape`, drawn in row-major order. */
export function uniformTensor(shape: number[], bound: number, rng: RandomSource): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (rng.nextFloat() * 2 - 1) * bound;
  return tf.tensor(values, shape, 'float32');
}

/**
 * PyTorch's default Conv2d initialisation: kaiming_uniform with a = sqrt(5) gives
 * uniform(+-1/sqrt(fan_in)) for the weight, and the bias is uniform(+-1/sqrt(fan_in)) too.
 * fan_in = inChannels * kernel * kernel.
 */
export function convInitBound(inChannels: number, kernel: number): number {
  return 1 / Math.sqrt(inChannels * kernel * kernel);
}
