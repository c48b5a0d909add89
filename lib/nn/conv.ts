/**
 * Full-precision 2-D convolution, stride 1, "same" zero padding of kernel/2 on each side (PyTorch's
 * `padding=k//2` for odd k). Input NHWC, filter HWIO [k, k, in, out], bias [out].
 * Official names: `<path>.weight` (OIHW in the state dict) and `<path>.bias`.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from './module';
import { RandomSource, uniformTensor, convInitBound } from './init';

export interface Conv2dConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Odd kernel size. */
  readonly kernel: number;
  readonly bias: boolean;
}

export class Conv2d extends Module {
  readonly config: Conv2dConfig;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(config: Conv2dConfig, rng: RandomSource) {
    super();
    if (config.kernel % 2 !== 1) throw new Error(`Conv2d: kernel ${config.kernel} must be odd`);
    this.config = config;
    const bound = convInitBound(config.inChannels, config.kernel);
    this.weight = this.param('weight', tf.tidy(() => tf.transpose(
      uniformTensor([config.outChannels, config.inChannels, config.kernel, config.kernel], bound, rng), [2, 3, 1, 0])), { layout: 'conv' });
    this.bias = config.bias ? this.param('bias', tf.tidy(() => uniformTensor([config.outChannels], bound, rng))) : null;
  }

  /** x: [N,H,W,in] -> [N,H,W,out]. `filter` replaces the weight (a quantized copy, say). */
  forward(x: tf.Tensor4D, filter: tf.Tensor4D = this.weight as tf.Tensor4D): tf.Tensor4D {
    return conv2dSame(x, filter, this.bias);
  }
}

/** Stride-1 "same" convolution plus an optional bias: the one conv call every layer uses. */
export function conv2dSame(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | null): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias: bias ?? undefined }) as tf.Tensor4D;
}
