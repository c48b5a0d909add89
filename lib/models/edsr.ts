/**
 * EDSR (Lim et al. 2017), as EDSR-PyTorch builds it, full precision or quantized by a graph
 * (spec 6.1). EDSR-baseline is 16 blocks x 64 features, res_scale 1; the shared weights are 8 x 64.
 *
 * Quantized block (the DDTB/PAMS structure):
 *   r   = quant_act1(x)                      quantizes the skip path
 *   b   = conv1(x)                           k-bit weight, full-precision input
 *   b   = quant_act2(relu(b))
 *   b   = conv2(b) * res_scale
 *   out = quant_act3(b) + r
 * State-dict names: `body.i.quant_act{1,2,3}`, `body.i.body.{0,3}` (conv1, conv2), with quant_act2
 * listed a second time as `body.i.body.2`. The FP block is `body.i.body.{0,2}` (no quantizers).
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { Container } from '../nn/container';
import { disposeConsumed } from '../nn/dispose';
import { RandomSource } from '../nn/init';
import { GraphBuilder, QuantGraph, ActMethod, WeightMethod } from '../quant/graph';
import { MeanShift, QuantConv2d, Upsampler } from './blocks';
import { pixelsAfterStages, upsamplerStages } from './pixel_shuffle';
import { ActQuantizerModule, GateLogits, QuantRecipe, QuantizedParts, SrNetwork, SrOutput, tidyWithGates } from './types';

export interface EdsrConfig {
  /** Residual blocks (16 for EDSR-baseline, 32 for EDSR). */
  readonly blocks: number;
  /** Feature channels (64 baseline, 256 EDSR). */
  readonly feats: number;
  readonly scale: number;
  /** Multiplier of each block's residual branch (1 baseline, 0.1 EDSR). */
  readonly resScale: number;
  /** Pixel range of input and output (255). */
  readonly rgbRange: number;
  readonly rgbMean: readonly [number, number, number];
}

export const edsrBaseline: EdsrConfig = Object.freeze({
  blocks: 16, feats: 64, scale: 4, resScale: 1, rgbRange: 255, rgbMean: [0.4488, 0.4371, 0.404] as const,
});

export interface ModelQuantSpec {
  readonly bits: number;
  readonly act: ActMethod;
  /** Calibration percentile M; default per architecture (99 EDSR/SRResNet, 95 RDN). */
  readonly percentile?: number;
  /** Weight quantizer; default per architecture (asym99 EDSR/SRResNet, asym RDN). */
  readonly weight?: WeightMethod;
}

/** The quantization graph of an EDSR, in forward order: 3 quantizers and 2 convs per block. */
export function edsrQuantGraph(config: EdsrConfig, spec: ModelQuantSpec): QuantGraph {
  const g = new GraphBuilder({ bits: spec.bits, act: spec.act, percentile: spec.percentile ?? 99 });
  const weight = spec.weight ?? 'asym99';
  const f = config.feats;
  for (let i = 0; i < config.blocks; i++) {
    const p = `body.${i}`;
    g.act(`${p}.quant_act1`, f);
    g.conv({ name: `${p}.body.0`, inChannels: f, outChannels: f, kernel: 3, bias: true, weight, input: null });
    g.act(`${p}.quant_act2`, f);
    g.conv({ name: `${p}.body.3`, inChannels: f, outChannels: f, kernel: 3, bias: true, weight, input: `${p}.quant_act2` });
    g.act(`${p}.quant_act3`, f);
  }
  return g.build();
}

class EdsrBlockFP extends Module {
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;
  constructor(feats: number, private readonly resScale: number, rng: RandomSource) {
    super();
    const body = this.child('body', new Container());
    this.conv1 = body.add(0, new Conv2d({ inChannels: feats, outChannels: feats, kernel: 3, bias: true }, rng));
    this.conv2 = body.add(2, new Conv2d({ inChannels: feats, outChannels: feats, kernel: 3, bias: true }, rng));
  }
  forward(x: tf.Tensor4D): { out: tf.Tensor4D; gates: GateLogits[] } {
    const out = tf.tidy(() => {
      const h = this.conv1.forward(x, undefined, 'relu');
      // with res_scale 1 the skip connection is added inside the second conv's kernel
      if (this.resScale === 1) return this.conv2.forward(h, undefined, 'linear', x);
      return tf.add(tf.mul(this.conv2.forward(h), this.resScale), x) as tf.Tensor4D;
    });
    return { out, gates: [] };
  }
}

class EdsrBlockQuant extends Module {
  private readonly act1: ActQuantizerModule;
  private readonly act2: ActQuantizerModule;
  private readonly act3: ActQuantizerModule;
  private readonly conv1: QuantConv2d;
  private readonly conv2: QuantConv2d;
  private readonly named: Array<[string, ActQuantizerModule]>;
  constructor(index: number, private readonly resScale: number, graph: QuantGraph, recipe: QuantRecipe,
    rng: RandomSource, acts: Map<string, ActQuantizerModule>) {
    super();
    const p = `body.${index}`;
    const site = (name: string) => graph.acts.find((a) => a.name === `${p}.${name}`)!;
    const conv = (name: string) => graph.convs.find((c) => c.name === `${p}.${name}`)!;
    const makeAct = (name: string) => {
      const q = this.child(name, recipe.act(site(name), graph));
      acts.set(`${p}.${name}`, q);
      return q;
    };
    this.act1 = makeAct('quant_act1');
    this.act2 = makeAct('quant_act2');
    this.act3 = makeAct('quant_act3');
    const body = this.child('body', new Container());
    const c1 = conv('body.0');
    const c2 = conv('body.3');
    this.conv1 = body.add(0, new QuantConv2d(c1, rng, recipe.weight(c1, graph)));
    body.addAlias(2, this.act2);
    this.conv2 = body.add(3, new QuantConv2d(c2, rng, recipe.weight(c2, graph)));
    this.named = [[`${p}.quant_act1`, this.act1], [`${p}.quant_act2`, this.act2], [`${p}.quant_act3`, this.act3]];
  }
  forward(x: tf.Tensor4D): { out: tf.Tensor4D; gates: GateLogits[] } {
    return tidyWithGates(this.named, () => {
      const r = this.act1.apply(x);
      let b = this.act2.apply(this.conv1.forward(x, undefined, 'relu'));
      b = this.conv2.forward(b);
      if (this.resScale !== 1) b = tf.mul(b, this.resScale);
      return tf.add(this.act3.apply(b), r) as tf.Tensor4D;
    });
  }
}

export class Edsr extends SrNetwork {
  readonly arch = 'edsr' as const;
  readonly scale: number;
  readonly quant: QuantizedParts | null;
  private readonly subMean: MeanShift;
  private readonly addMean: MeanShift;
  private readonly head: Conv2d;
  private readonly blocks: Array<EdsrBlockFP | EdsrBlockQuant> = [];
  private readonly bodyEnd: Conv2d;
  private readonly upsampler: Upsampler;
  private readonly last: Conv2d;

  /**
   * @param graph the quantization graph (edsrQuantGraph) or null for full precision
   * @param recipe makes the quantizers of the graph's sites (required with a graph)
   */
  constructor(readonly config: EdsrConfig, graph: QuantGraph | null, recipe: QuantRecipe | null, rng: RandomSource) {
    super();
    this.scale = config.scale;
    const f = config.feats;
    this.subMean = this.child('sub_mean', new MeanShift(config.rgbRange, config.rgbMean, -1));
    this.addMean = this.child('add_mean', new MeanShift(config.rgbRange, config.rgbMean, 1));
    this.head = this.child('head', new Container()).add(0, new Conv2d({ inChannels: 3, outChannels: f, kernel: 3, bias: true }, rng));
    const body = this.child('body', new Container());
    const acts = new Map<string, ActQuantizerModule>();
    if (graph && !recipe) throw new Error('Edsr: a quantization graph needs a recipe');
    for (let i = 0; i < config.blocks; i++) {
      this.blocks.push(body.add(i, graph
        ? new EdsrBlockQuant(i, config.resScale, graph, recipe!, rng, acts)
        : new EdsrBlockFP(f, config.resScale, rng)));
    }
    this.bodyEnd = body.add(config.blocks, new Conv2d({ inChannels: f, outChannels: f, kernel: 3, bias: true }, rng));
    const tail = this.child('tail', new Container());
    this.upsampler = tail.add(0, new Upsampler(config.scale, f, true, rng));
    this.last = tail.add(1, new Conv2d({ inChannels: f, outChannels: 3, kernel: 3, bias: true }, rng));
    this.quant = graph ? { graph, acts } : null;
  }

  resolutionOf(convName: string): number {
    const up = /^tail\.0\.(\d+)$/.exec(convName);
    if (up) return pixelsAfterStages(this.scale, Number(up[1]) / 2);
    if (convName === 'tail.1') return pixelsAfterStages(this.scale, upsamplerStages(this.scale).length);
    return 1;
  }

  forward(x: tf.Tensor4D): SrOutput {
    const gates: GateLogits[] = [];
    const { sr, features } = tf.tidy(() => {
      const h = this.head.forward(this.subMean.forward(x));
      let b: tf.Tensor4D = h;
      for (const block of this.blocks) {
        const step = block.forward(b);
        disposeConsumed(b, step.out, h);
        b = step.out;
        gates.push(...step.gates);
      }
      const features = this.bodyEnd.forward(b, undefined, 'linear', h);
      const sr = this.addMean.forward(this.last.forward(this.upsampler.forward(features)));
      return { sr, features, logits: gates.map((g) => g.logits) };
    });
    return { sr, features, gateLogits: gates };
  }
}

/** EDSR-PyTorch FP weights -> DDTB names: the second conv moves from body.i.body.2 to body.i.body.3. */
export function remapEdsrFpToQuantized(name: string): string {
  return name.replace(/^(body\.\d+\.body\.)2(\.(weight|bias))$/, '$13$2');
}
