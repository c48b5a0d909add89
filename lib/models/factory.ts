/**
 * Typed model configurations and the one function that builds any network from them.
 */
import { RandomSource } from '../nn/init';
import { QuantGraph } from '../quant/graph';
import { Edsr, edsrQuantGraph, ModelQuantSpec } from './edsr';
import { Rdn, rdnQuantGraph } from './rdn';
import { SrResNet, srResNetQuantGraph } from './srresnet';
import { Architecture, QuantRecipe, SrNetwork } from './types';

export type ModelConfig =
  | { readonly arch: 'edsr'; readonly blocks: number; readonly feats: number; readonly scale: number; readonly resScale: number }
  | { readonly arch: 'rdn'; readonly blocks: number; readonly convsPerBlock: number; readonly growth: number; readonly feats: number; readonly scale: number }
  | { readonly arch: 'srresnet'; readonly blocks: number; readonly feats: number; readonly scale: number };

/** Standard configurations: EDSR-baseline (16 x 64), RDN config B, SRResNet (16 x 64). */
export function defaultModelConfig(arch: Architecture, scale: number): ModelConfig {
  switch (arch) {
    case 'edsr': return { arch, blocks: 16, feats: 64, scale, resScale: 1 };
    case 'rdn': return { arch, blocks: 16, convsPerBlock: 8, growth: 64, feats: 64, scale };
    case 'srresnet': return { arch, blocks: 16, feats: 64, scale };
  }
}

const EDSR_RGB_MEAN = [0.4488, 0.4371, 0.404] as const;

/** The quantization graph of `model` quantized as `spec` (all layers static). */
export function quantGraphFor(model: ModelConfig, spec: ModelQuantSpec): QuantGraph {
  switch (model.arch) {
    case 'edsr': return edsrQuantGraph({ ...model, rgbRange: 255, rgbMean: EDSR_RGB_MEAN }, spec);
    case 'rdn': return rdnQuantGraph(model, spec);
    case 'srresnet': return srResNetQuantGraph(model, spec);
  }
}

/** Builds a network: full precision when `graph` is null, else quantized with `recipe`. */
export function buildNetwork(model: ModelConfig, graph: QuantGraph | null, recipe: QuantRecipe | null, rng: RandomSource): SrNetwork {
  switch (model.arch) {
    case 'edsr': return new Edsr({ ...model, rgbRange: 255, rgbMean: EDSR_RGB_MEAN }, graph, recipe, rng);
    case 'rdn': return new Rdn(model, graph, recipe, rng);
    case 'srresnet': return new SrResNet(model, graph, recipe, rng);
  }
}

/** A short description, e.g. "EDSR 8x64 x4". */
export function describeModel(model: ModelConfig): string {
  switch (model.arch) {
    case 'edsr': return `EDSR ${model.blocks}x${model.feats} x${model.scale}`;
    case 'rdn': return `RDN D${model.blocks} C${model.convsPerBlock} G${model.growth} x${model.scale}`;
    case 'srresnet': return `SRResNet ${model.blocks}x${model.feats} x${model.scale}`;
  }
}
