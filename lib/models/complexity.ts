/**
 * Size and cost accounting of an SR network (spec 9.3): parameters, quantized parameters, storage
 * in bits with k-bit weights, MACs and BitOPs for an input size, and the dynamic gates' own cost.
 *
 * Conventions:
 * - parameters: the network's trainable weights and biases (MeanShift is fixed and not counted;
 *   quantizer bounds and gates are reported separately);
 * - storage: quantized conv weights at k bits, every other parameter at 32 bits; gates at 2-bit
 *   weights plus 32-bit BatchNorm affine parameters;
 * - BitOPs = sum of MACs x weight bits x input-activation bits; a full-precision operand counts 32.
 *   A quantized conv whose input is not quantized (EDSR's conv1) counts k x 32;
 * - a gate on C channels: 32C + 64 weights (1x1 convs C->32 and 32->2, 2-bit), 64 BN parameters,
 *   32C + 64 MACs per image at 2 x 2 bits, and C x H x W additions for the average pool.
 */
import { Conv2d } from '../nn/conv';
import { QuantGraph } from '../quant/graph';
import { SrNetwork } from './types';

export interface LayerCost {
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  /** Output pixels per LR input pixel (1 before the upsampler, r*r after a stage of r). */
  readonly pixelsPerLrPixel: number;
  readonly macs: number;
  readonly weightBits: number;
  readonly actBits: number;
}

export interface GateCost {
  readonly count: number;
  readonly weights: number;
  readonly bnParameters: number;
  readonly macs: number;
  readonly bitops: number;
  readonly poolAdditions: number;
}

export interface Complexity {
  readonly inputSize: { readonly height: number; readonly width: number };
  readonly parameters: number;
  readonly quantizedParameters: number;
  /** Storage of the network's parameters in bits (gates excluded). */
  readonly storageBits: number;
  readonly macs: number;
  readonly bitops: number;
  readonly gates: GateCost;
  /** Trainable quantizer scalars (bounds, PAMS alphas). */
  readonly quantizerParameters: number;
  readonly layers: readonly LayerCost[];
}

/** The quantizer paths of a graph, to tell quantizer internals from the network's own convs. */
function quantizerPaths(graph: QuantGraph | null): string[] {
  return graph ? graph.acts.map((a) => a.name) : [];
}

/**
 * Costs of `model` for an LR input of height x width. `pixelsPerLrPixel(name)` is asked of the model
 * through `SrNetwork.resolutionOf` when present, else derived from the upsampler position by name.
 */
export function complexity(model: SrNetwork & { resolutionOf(convName: string): number }, height: number, width: number): Complexity {
  const graph = model.quant?.graph ?? null;
  const qpaths = quantizerPaths(graph);
  const insideQuantizer = (name: string) => qpaths.some((p) => name === p || name.startsWith(`${p}.`));
  const convSites = new Map((graph?.convs ?? []).map((c) => [c.name, c]));
  const k = graph?.bits ?? 32;
  const layers: LayerCost[] = [];
  let parameters = 0;
  let quantizedParameters = 0;
  let storageBits = 0;
  let quantizerParameters = 0;
  for (const [name, p] of model.namedParameters()) {
    if (insideQuantizer(name)) {
      if (!name.includes('.atten_c.')) quantizerParameters += p.variable.size;
      continue;
    }
    parameters += p.variable.size;
    const conv = name.endsWith('.weight') ? convSites.get(name.slice(0, -'.weight'.length)) : undefined;
    if (conv) quantizedParameters += p.variable.size;
    storageBits += p.variable.size * (conv ? k : 32);
  }
  let macs = 0;
  let bitops = 0;
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Conv2d) || insideQuantizer(name)) continue;
    const { inChannels, outChannels, kernel } = m.config;
    const ppl = model.resolutionOf(name);
    const layerMacs = inChannels * outChannels * kernel * kernel * ppl * height * width;
    const site = convSites.get(name);
    const weightBits = site ? k : 32;
    const actBits = site && site.input !== null ? k : 32;
    layers.push({ name, inChannels, outChannels, kernel, pixelsPerLrPixel: ppl, macs: layerMacs, weightBits, actBits });
    macs += layerMacs;
    bitops += layerMacs * weightBits * actBits;
  }
  const dynamic = (graph?.acts ?? []).filter((a) => a.dynamic);
  const gates: GateCost = {
    count: dynamic.length,
    weights: dynamic.reduce((n, a) => n + 32 * a.channels + 64, 0),
    bnParameters: dynamic.length * 64,
    macs: dynamic.reduce((n, a) => n + 32 * a.channels + 64, 0),
    bitops: dynamic.reduce((n, a) => n + (32 * a.channels + 64) * 2 * 2, 0),
    poolAdditions: dynamic.reduce((n, a) => n + a.channels * height * width, 0),
  };
  return { inputSize: { height, width }, parameters, quantizedParameters, storageBits, macs, bitops, gates, quantizerParameters, layers };
}

/** Weights a gate on `channels` inputs adds (spec 9.3): 32C + 64. */
export function gateWeightCount(channels: number): number {
  return 32 * channels + 64;
}
