/**
 * Building blocks shared by the SR networks: mean shift, upsampler, a conv whose weight may be
 * quantized, and the one-line activations.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d, ConvActivation } from '../nn/conv';
import { RandomSource } from '../nn/init';
import { Container } from '../nn/container';
import { disposeConsumed } from '../nn/dispose';
import { ConvSite, WeightMethod } from '../quant/graph';
import { WeightQuantizer } from './types';
import { pixelShuffle, upsamplerStages } from './pixel_shuffle';
import { preluShared } from '../nn/prelu';

/**
 * EDSR's MeanShift: a fixed 1x1 conv adding (sign = +1) or subtracting (-1) rgbRange * mean.
 * With std 1 the weight is the identity; kept as buffers `weight` [3,3,1,1] and `bias` [3], as in
 * the official state dict (requires_grad False there).
 */
export class MeanShift extends Module {
  readonly bias: tf.Variable;
  constructor(rgbRange: number, mean: readonly [number, number, number], sign: 1 | -1) {
    super();
    this.buffer('weight', tf.tidy(() => tf.reshape(tf.eye(3), [1, 1, 3, 3])), 'conv');
    this.bias = this.buffer('bias', tf.tensor1d(mean.map((m) => sign * rgbRange * m)));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(x, this.bias);
  }
}

/**
 * A conv whose weight goes through `quantizer` on every forward (a full-precision conv when null).
 * `fullPrecisionWeights` lets the weight pass unchanged while set: the statistics epoch switches the
 * `asym99` and `sym` weight quantizers to 32 bits (spec 4), but not RDN's `asym` ones, which the
 * official toggle misses (`followsStatisticsToggle`).
 */
export class QuantConv2d extends Conv2d {
  fullPrecisionWeights = false;
  readonly weightMethod: WeightMethod | null;
  constructor(site: Pick<ConvSite, 'inChannels' | 'outChannels' | 'kernel' | 'bias'> & Partial<Pick<ConvSite, 'weight'>>, rng: RandomSource,
    readonly quantizer: WeightQuantizer | null) {
    super({ inChannels: site.inChannels, outChannels: site.outChannels, kernel: site.kernel, bias: site.bias }, rng);
    this.weightMethod = quantizer ? site.weight ?? null : null;
  }
  get followsStatisticsToggle(): boolean {
    return this.weightMethod === 'asym99' || this.weightMethod === 'sym';
  }
  /**
   * x through the (quantized) weight, then `activation` or plus `residual`; `filter`, when given,
   * replaces the quantized weight.
   */
  override forward(x: tf.Tensor4D, filter?: tf.Tensor4D, activation: ConvActivation = 'linear', residual?: tf.Tensor4D): tf.Tensor4D {
    if (filter || !this.quantizer || this.fullPrecisionWeights) return super.forward(x, filter, activation, residual);
    return tf.tidy(() => super.forward(x, this.quantizer!(this.weight as tf.Tensor4D), activation, residual));
  }
}

/**
 * EDSR-PyTorch's Upsampler (FP): for each x2 (or the one x3) stage a conv feats -> r*r*feats and a
 * pixel shuffle. Children are named like nn.Sequential indices: conv at 0, 2, 4 (shuffles at 1, 3, 5).
 * `activation`, when given, follows each shuffle (SRResNet's PReLU) and takes the next index.
 */
export class Upsampler extends Container {
  private readonly stages: Array<{ conv: Conv2d; r: number; act: ((x: tf.Tensor4D) => tf.Tensor4D) | null }> = [];
  constructor(scale: number, feats: number, bias: boolean, rng: RandomSource,
    makeActivation?: (index: number) => Module & { forward(x: tf.Tensor4D): tf.Tensor4D }) {
    super();
    let index = 0;
    for (const r of upsamplerStages(scale)) {
      const conv = this.add(index, new Conv2d({ inChannels: feats, outChannels: r * r * feats, kernel: 3, bias }, rng));
      index += 2; // the shuffle has no parameters
      let act: ((x: tf.Tensor4D) => tf.Tensor4D) | null = null;
      if (makeActivation) {
        const m = this.add(index, makeActivation(index));
        act = (x) => m.forward(x);
        index += 1;
      }
      this.stages.push({ conv, r, act });
    }
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = x;
      for (const s of this.stages) {
        const conv = s.conv.forward(y);
        disposeConsumed(y, conv, x);
        const shuffled = pixelShuffle(conv, s.r);
        disposeConsumed(conv, shuffled);
        y = s.act ? s.act(shuffled) : shuffled;
        if (s.act) disposeConsumed(shuffled, y);
      }
      return y;
    });
  }
}

/** PReLU with one shared slope (`weight` [1], init 0.25, PyTorch's default). */
export class PReLU extends Module {
  readonly weight: tf.Variable;
  constructor() {
    super();
    this.weight = this.param('weight', tf.tensor1d([0.25]));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return preluShared(x, this.weight);
  }
}
