/**
 * RDN (Zhang et al. 2018), configuration B (D = 16 blocks, C = 8 convs per block, G = G0 = 64), as
 * EDSR-PyTorch builds it, full precision or quantized by a graph (spec 6.2). No mean shift: the
 * input is on 0..255 directly.
 *
 * Quantized residual dense block (RDB):
 *   x = act1(x)                                   also the local skip
 *   h = x
 *   for c in 0..C-1:  if c > 0: h = convs.c.act(h)   (convs.0.act exists but never runs)
 *                     h = cat(h, relu(convs.c.conv.0(h)))
 *   return LFF(act2(h)) + x
 * Global: GFF.0(act(cat(RDB outputs))) -> GFF.1 (k-bit weight, FP input) -> + SFENet1 output
 *   -> features -> UPNet (FP).
 * Weights of every RDB conv, LFF and both GFF convs are quantized (min/max asymmetric); M = 95.
 * Names follow EDSR-PyTorch's rdn.py plus the quantizers: `RDBs.d.act1`, `RDBs.d.act2`,
 * `RDBs.d.convs.c.act`, `act`.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { Container } from '../nn/container';
import { disposeConsumed } from '../nn/dispose';
import { RandomSource } from '../nn/init';
import { GraphBuilder, QuantGraph } from '../quant/graph';
import { QuantConv2d } from './blocks';
import { pixelShuffle, pixelsAfterStages, upsamplerStages } from './pixel_shuffle';
import { ActQuantizerModule, GateLogits, QuantRecipe, QuantizedParts, SrNetwork, SrOutput, tidyWithGates } from './types';
import { ModelQuantSpec } from './edsr';

export interface RdnConfig {
  /** Residual dense blocks D. */
  readonly blocks: number;
  /** Convs per block C. */
  readonly convsPerBlock: number;
  /** Growth rate G. */
  readonly growth: number;
  /** Feature channels G0. */
  readonly feats: number;
  readonly scale: number;
}

export const rdnB: RdnConfig = Object.freeze({ blocks: 16, convsPerBlock: 8, growth: 64, feats: 64, scale: 4 });

/** RDN's quantization graph in forward order: per block act1, (act, conv) x C, act2, LFF; then act, GFF. */
export function rdnQuantGraph(config: RdnConfig, spec: ModelQuantSpec): QuantGraph {
  const g = new GraphBuilder({ bits: spec.bits, act: spec.act, percentile: spec.percentile ?? 95 });
  const weight = spec.weight ?? 'asym';
  const { feats: g0, growth: gr, convsPerBlock: C } = config;
  for (let d = 0; d < config.blocks; d++) {
    const p = `RDBs.${d}`;
    g.act(`${p}.act1`, g0);
    for (let c = 0; c < C; c++) {
      const inCh = g0 + c * gr;
      g.act(`${p}.convs.${c}.act`, inCh, { active: c > 0 });
      g.conv({ name: `${p}.convs.${c}.conv.0`, inChannels: inCh, outChannels: gr, kernel: 3, bias: true, weight,
        input: c > 0 ? `${p}.convs.${c}.act` : `${p}.act1` });
    }
    g.act(`${p}.act2`, g0 + C * gr);
    g.conv({ name: `${p}.LFF`, inChannels: g0 + C * gr, outChannels: g0, kernel: 1, bias: true, weight, input: `${p}.act2` });
  }
  g.act('act', config.blocks * g0);
  g.conv({ name: 'GFF.0', inChannels: config.blocks * g0, outChannels: g0, kernel: 1, bias: true, weight, input: 'act' });
  g.conv({ name: 'GFF.1', inChannels: g0, outChannels: g0, kernel: 3, bias: true, weight, input: null });
  return g.build();
}

type Site = { graph: QuantGraph; recipe: QuantRecipe; acts: Map<string, ActQuantizerModule> } | null;

function makeConv(name: string, inChannels: number, outChannels: number, kernel: number, rng: RandomSource, q: Site): QuantConv2d {
  if (!q) return new QuantConv2d({ inChannels, outChannels, kernel, bias: true }, rng, null);
  const site = q.graph.convs.find((c) => c.name === name);
  if (!site) throw new Error(`rdn: conv '${name}' missing from the quantization graph`);
  return new QuantConv2d(site, rng, q.recipe.weight(site, q.graph));
}

function makeAct(parent: Module & { addQuantizer(n: string, m: ActQuantizerModule): void }, local: string, name: string, q: Site): ActQuantizerModule | null {
  if (!q) return null;
  const site = q.graph.acts.find((a) => a.name === name);
  if (!site) throw new Error(`rdn: quantizer '${name}' missing from the quantization graph`);
  const m = q.recipe.act(site, q.graph);
  parent.addQuantizer(local, m);
  q.acts.set(name, m);
  return m;
}

class Slot extends Container {
  addQuantizer(name: string, m: ActQuantizerModule): void { this.add(name, m); }
}

class RdbConv extends Slot {
  readonly act: ActQuantizerModule | null;
  readonly conv: QuantConv2d;
  constructor(private readonly path: string, private readonly index: number, inCh: number, growth: number, rng: RandomSource, q: Site) {
    super();
    this.act = makeAct(this, 'act', `${path}.act`, q);
    this.conv = this.add('conv', new Container()).add(0, makeConv(`${path}.conv.0`, inCh, growth, 3, rng, q));
  }
  forward(h: tf.Tensor4D, gates: GateLogits[]): tf.Tensor4D {
    const step = tidyWithGates(this.act && this.index > 0 ? [[this.path + '.act', this.act]] : [], () => {
      const x = this.act && this.index > 0 ? this.act.apply(h) : h;
      return tf.concat([x, this.conv.forward(x, undefined, 'relu')], 3) as tf.Tensor4D;
    });
    gates.push(...step.gates);
    return step.out;
  }
}

class Rdb extends Slot {
  private readonly act1: ActQuantizerModule | null;
  private readonly act2: ActQuantizerModule | null;
  private readonly convs: RdbConv[] = [];
  private readonly lff: QuantConv2d;
  constructor(private readonly path: string, config: RdnConfig, rng: RandomSource, q: Site) {
    super();
    const { feats: g0, growth: gr, convsPerBlock: C } = config;
    this.act1 = makeAct(this, 'act1', `${path}.act1`, q);
    const convs = this.add('convs', new Container());
    for (let c = 0; c < C; c++) this.convs.push(convs.add(c, new RdbConv(`${path}.convs.${c}`, c, g0 + c * gr, gr, rng, q)));
    this.act2 = makeAct(this, 'act2', `${path}.act2`, q);
    this.lff = this.add('LFF', makeConv(`${path}.LFF`, g0 + C * gr, g0, 1, rng, q));
  }
  forward(input: tf.Tensor4D, gates: GateLogits[]): tf.Tensor4D {
    // Gate logits made in this block's scope (act1, the convs' quantizers, act2, in forward order)
    // leave it together with the output, so the regulariser can read them later.
    const layers: string[] = [];
    const kept = tf.tidy(() => {
      const found: GateLogits[] = [];
      const x = this.act1 ? this.act1.apply(input) : input;
      if (this.act1?.lastGateLogits) found.push({ layer: `${this.path}.act1`, logits: this.act1.lastGateLogits });
      let h = x;
      for (const c of this.convs) h = c.forward(h, found);
      if (this.act2) {
        h = this.act2.apply(h);
        if (this.act2.lastGateLogits) found.push({ layer: `${this.path}.act2`, logits: this.act2.lastGateLogits });
      }
      layers.push(...found.map((g) => g.layer));
      return { out: tf.add(this.lff.forward(h), x) as tf.Tensor4D, logits: found.map((g) => g.logits) };
    });
    gates.push(...layers.map((layer, i) => ({ layer, logits: kept.logits[i] })));
    return kept.out;
  }
}

export class Rdn extends SrNetwork {
  readonly arch = 'rdn' as const;
  readonly scale: number;
  readonly quant: QuantizedParts | null;
  private readonly sfe1: Conv2d;
  private readonly sfe2: Conv2d;
  private readonly rdbs: Rdb[] = [];
  private readonly act: ActQuantizerModule | null;
  private readonly gff0: QuantConv2d;
  private readonly gff1: QuantConv2d;
  private readonly upConvs: Array<{ conv: Conv2d; r: number }> = [];
  private readonly last: Conv2d;

  constructor(readonly config: RdnConfig, graph: QuantGraph | null, recipe: QuantRecipe | null, rng: RandomSource) {
    super();
    if (graph && !recipe) throw new Error('Rdn: a quantization graph needs a recipe');
    const acts = new Map<string, ActQuantizerModule>();
    const q: Site = graph ? { graph, recipe: recipe!, acts } : null;
    const { feats: g0, growth: gr } = config;
    this.scale = config.scale;
    this.sfe1 = this.child('SFENet1', new Conv2d({ inChannels: 3, outChannels: g0, kernel: 3, bias: true }, rng));
    this.sfe2 = this.child('SFENet2', new Conv2d({ inChannels: g0, outChannels: g0, kernel: 3, bias: true }, rng));
    const rdbs = this.child('RDBs', new Container());
    for (let d = 0; d < config.blocks; d++) this.rdbs.push(rdbs.add(d, new Rdb(`RDBs.${d}`, config, rng, q)));
    if (q) {
      const site = graph!.acts.find((a) => a.name === 'act')!;
      this.act = this.child('act', recipe!.act(site, graph!));
      acts.set('act', this.act);
    } else this.act = null;
    const gff = this.child('GFF', new Container());
    this.gff0 = gff.add(0, makeConv('GFF.0', config.blocks * g0, g0, 1, rng, q));
    this.gff1 = gff.add(1, makeConv('GFF.1', g0, g0, 3, rng, q));
    const up = this.child('UPNet', new Container());
    let index = 0;
    let inCh = g0;
    for (const r of upsamplerStages(config.scale)) {
      this.upConvs.push({ conv: up.add(index, new Conv2d({ inChannels: inCh, outChannels: gr * r * r, kernel: 3, bias: true }, rng)), r });
      inCh = gr;
      index += 2;
    }
    this.last = up.add(index, new Conv2d({ inChannels: gr, outChannels: 3, kernel: 3, bias: true }, rng));
    this.quant = graph ? { graph, acts } : null;
  }

  resolutionOf(convName: string): number {
    const up = /^UPNet\.(\d+)$/.exec(convName);
    return up ? pixelsAfterStages(this.scale, Number(up[1]) / 2) : 1;
  }

  forward(x: tf.Tensor4D): SrOutput {
    const gates: GateLogits[] = [];
    const { sr, features } = tf.tidy(() => {
      const f1 = this.sfe1.forward(x);
      let h = this.sfe2.forward(f1);
      const outs: tf.Tensor4D[] = [];
      for (const rdb of this.rdbs) { h = rdb.forward(h, gates); outs.push(h); }
      let cat = tf.concat(outs, 3) as tf.Tensor4D;
      if (this.act) {
        cat = this.act.apply(cat);
        if (this.act.lastGateLogits) gates.push({ layer: 'act', logits: this.act.lastGateLogits });
      }
      const features = tf.add(this.gff1.forward(this.gff0.forward(cat)), f1) as tf.Tensor4D;
      let y = features;
      for (const { conv, r } of this.upConvs) {
        const c = conv.forward(y);
        disposeConsumed(y, c, features);
        y = pixelShuffle(c, r);
        disposeConsumed(c, y);
      }
      return { sr: this.last.forward(y), features, logits: gates.map((g) => g.logits) };
    });
    return { sr, features, gateLogits: gates };
  }
}
