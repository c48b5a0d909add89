/**
 * SRResNet with BatchNorm (Ledig et al. 2017), as DDTB's bnsrresnet builds it (spec 6.3): no mean
 * shift (input on 0..255), no conv biases, PReLU with one shared slope.
 *
 *   out = PReLU(conv_input 9x9 3->64);  skip = out
 *   block(x): y = PReLU(BN1(conv1(act1(x))));  y = BN2(conv2(act2(y)));  return y + x
 *   features = BN_mid(conv_mid(blocks(out))) + skip
 *   sr = conv_output 9x9 (upscale: [conv 64->256, PixelShuffle(2), PReLU] per x2 stage)
 * Both convs of every block are quantized (asym99 weights) and so are their inputs (act1, act2):
 * 32 quantizers for 16 blocks, M = 99. The official module names are not in the spec beyond
 * `residual.i.act{1,2}`; the others follow the common SRResNet layout (conv_input, relu, residual,
 * conv_mid, bn_mid, upscale, conv_output) and are documented here as our choice.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { Container } from '../nn/container';
import { disposeConsumed } from '../nn/dispose';
import { RandomSource } from '../nn/init';
import { BatchNorm2d } from '../nn/batchnorm';
import { GraphBuilder, QuantGraph } from '../quant/graph';
import { PReLU, QuantConv2d, Upsampler } from './blocks';
import { pixelsAfterStages, upsamplerStages } from './pixel_shuffle';
import { ActQuantizerModule, GateLogits, QuantRecipe, QuantizedParts, SrNetwork, SrOutput, tidyWithGates } from './types';
import { ModelQuantSpec } from './edsr';

export interface SrResNetConfig {
  readonly blocks: number;
  readonly feats: number;
  readonly scale: number;
}

export const srResNet16: SrResNetConfig = Object.freeze({ blocks: 16, feats: 64, scale: 4 });

/** SRResNet's quantization graph: per block act1, conv1, act2, conv2. */
export function srResNetQuantGraph(config: SrResNetConfig, spec: ModelQuantSpec): QuantGraph {
  const g = new GraphBuilder({ bits: spec.bits, act: spec.act, percentile: spec.percentile ?? 99 });
  const weight = spec.weight ?? 'asym99';
  const f = config.feats;
  for (let i = 0; i < config.blocks; i++) {
    const p = `residual.${i}`;
    g.act(`${p}.act1`, f);
    g.conv({ name: `${p}.conv1`, inChannels: f, outChannels: f, kernel: 3, bias: false, weight, input: `${p}.act1` });
    g.act(`${p}.act2`, f);
    g.conv({ name: `${p}.conv2`, inChannels: f, outChannels: f, kernel: 3, bias: false, weight, input: `${p}.act2` });
  }
  return g.build();
}

class ResidualBlock extends Module {
  private readonly act1: ActQuantizerModule | null;
  private readonly act2: ActQuantizerModule | null;
  private readonly conv1: QuantConv2d;
  private readonly bn1: BatchNorm2d;
  private readonly prelu: PReLU;
  private readonly conv2: QuantConv2d;
  private readonly bn2: BatchNorm2d;
  private readonly named: Array<[string, ActQuantizerModule]> = [];

  constructor(path: string, feats: number, rng: RandomSource,
    q: { graph: QuantGraph; recipe: QuantRecipe; acts: Map<string, ActQuantizerModule> } | null) {
    super();
    const act = (local: string): ActQuantizerModule | null => {
      if (!q) return null;
      const site = q.graph.acts.find((a) => a.name === `${path}.${local}`)!;
      const m = this.child(local, q.recipe.act(site, q.graph));
      q.acts.set(site.name, m);
      return m;
    };
    const conv = (local: string): QuantConv2d => {
      const site = q?.graph.convs.find((c) => c.name === `${path}.${local}`);
      return this.child(local, new QuantConv2d(site ?? { inChannels: feats, outChannels: feats, kernel: 3, bias: false }, rng,
        site && q ? q.recipe.weight(site, q.graph) : null));
    };
    this.act1 = act('act1');
    this.conv1 = conv('conv1');
    this.bn1 = this.child('bn1', new BatchNorm2d(feats, `${path}.bn1`));
    this.prelu = this.child('relu', new PReLU());
    this.act2 = act('act2');
    this.conv2 = conv('conv2');
    this.bn2 = this.child('bn2', new BatchNorm2d(feats, `${path}.bn2`));
    if (this.act1) this.named.push([`${path}.act1`, this.act1]);
    if (this.act2) this.named.push([`${path}.act2`, this.act2]);
  }

  forward(x: tf.Tensor4D): { out: tf.Tensor4D; gates: GateLogits[] } {
    return tidyWithGates(this.named, () => {
      let y = this.act1 ? this.act1.apply(x) : x;
      y = this.prelu.forward(this.bn1.forward(this.conv1.forward(y)));
      if (this.act2) y = this.act2.apply(y);
      y = this.bn2.forward(this.conv2.forward(y));
      return tf.add(y, x) as tf.Tensor4D;
    });
  }
}

export class SrResNet extends SrNetwork {
  readonly arch = 'srresnet' as const;
  readonly scale: number;
  readonly quant: QuantizedParts | null;
  private readonly convInput: Conv2d;
  private readonly prelu: PReLU;
  private readonly blocks: ResidualBlock[] = [];
  private readonly convMid: Conv2d;
  private readonly bnMid: BatchNorm2d;
  private readonly upscale: Upsampler;
  private readonly convOutput: Conv2d;

  constructor(readonly config: SrResNetConfig, graph: QuantGraph | null, recipe: QuantRecipe | null, rng: RandomSource) {
    super();
    if (graph && !recipe) throw new Error('SrResNet: a quantization graph needs a recipe');
    const acts = new Map<string, ActQuantizerModule>();
    const q = graph ? { graph, recipe: recipe!, acts } : null;
    const f = config.feats;
    this.scale = config.scale;
    this.convInput = this.child('conv_input', new Conv2d({ inChannels: 3, outChannels: f, kernel: 9, bias: false }, rng));
    this.prelu = this.child('relu', new PReLU());
    const residual = this.child('residual', new Container());
    for (let i = 0; i < config.blocks; i++) this.blocks.push(residual.add(i, new ResidualBlock(`residual.${i}`, f, rng, q)));
    this.convMid = this.child('conv_mid', new Conv2d({ inChannels: f, outChannels: f, kernel: 3, bias: false }, rng));
    this.bnMid = this.child('bn_mid', new BatchNorm2d(f, 'bn_mid'));
    this.upscale = this.child('upscale', new Upsampler(config.scale, f, false, rng, () => new PReLU()));
    this.convOutput = this.child('conv_output', new Conv2d({ inChannels: f, outChannels: 3, kernel: 9, bias: false }, rng));
    this.quant = graph ? { graph, acts } : null;
  }

  resolutionOf(convName: string): number {
    const up = /^upscale\.(\d+)$/.exec(convName);
    if (up) return pixelsAfterStages(this.scale, Number(up[1]) / 3);
    if (convName === 'conv_output') return pixelsAfterStages(this.scale, upsamplerStages(this.scale).length);
    return 1;
  }

  forward(x: tf.Tensor4D): SrOutput {
    const gates: GateLogits[] = [];
    const { sr, features } = tf.tidy(() => {
      const skip = this.prelu.forward(this.convInput.forward(x));
      let h = skip;
      for (const b of this.blocks) {
        const step = b.forward(h);
        disposeConsumed(h, step.out, skip);
        h = step.out;
        gates.push(...step.gates);
      }
      const features = tf.add(this.bnMid.forward(this.convMid.forward(h)), skip) as tf.Tensor4D;
      return { sr: this.convOutput.forward(this.upscale.forward(features)), features, logits: gates.map((g) => g.logits) };
    });
    return { sr, features, gateLogits: gates };
  }
}
