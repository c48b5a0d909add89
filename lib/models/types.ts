/**
 * What every SR network in lib/models offers, FP or quantized.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { ActSite, ConvSite, QuantGraph } from '../quant/graph';

export type Architecture = 'edsr' | 'rdn' | 'srresnet';

/** An activation quantizer as a model sees it: a module that maps x to its quantized value. */
export interface ActQuantizerModule extends Module {
  /** x: [N,H,W,C] on the network's activation scale -> same shape. */
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** The current static bounds (PAMS: upper = alpha, lower = -alpha). Reads the variables. */
  bounds(): { upper: number; lower: number };
  /** The pre-sigmoid gate output of the last apply, when a gate ran (DDTB dynamic layers). */
  readonly lastGateLogits?: tf.Tensor | null;
}

/** One gate's pre-sigmoid output from a forward pass (the regulariser's input, spec 3.3). */
export interface GateLogits {
  readonly layer: string;
  readonly logits: tf.Tensor;
}

/** A weight quantizer: HWIO weight in, quantized HWIO weight out (recomputed every forward). */
export type WeightQuantizer = (w: tf.Tensor4D) => tf.Tensor4D;

/** Makes the quantizers of a graph's sites; models call it once per site while they are built. */
export interface QuantRecipe {
  act(site: ActSite, graph: QuantGraph): ActQuantizerModule;
  weight(site: ConvSite, graph: QuantGraph): WeightQuantizer;
}

export interface SrOutput {
  /** [N, H*scale, W*scale, 3], raw (not clamped or rounded), 0..255 scale. */
  readonly sr: tf.Tensor4D;
  /** The features used by distillation: just before the upsampler (after the global skip). */
  readonly features: tf.Tensor4D;
  /** The logits of every gate that ran, in forward order (empty without dynamic layers). */
  readonly gateLogits: readonly GateLogits[];
}

/** The model-level view of quantization that trainers, evaluation and notebooks use. */
export interface QuantizedParts {
  /** Replaced (never mutated) when the dynamic layers change: see lib/models/dynamic.ts. */
  graph: QuantGraph;
  /** Activation quantizers by official name, in forward order. */
  readonly acts: ReadonlyMap<string, ActQuantizerModule>;
}

export abstract class SrNetwork extends Module {
  abstract readonly arch: Architecture;
  abstract readonly scale: number;
  /** Null for a full-precision network. */
  abstract readonly quant: QuantizedParts | null;
  /** x: [N, h, w, 3] LR on the 0..255 scale. */
  abstract forward(x: tf.Tensor4D): SrOutput;
  /** Output pixels per LR pixel of the conv at `convName` (1 before the upsampler, r*r after a stage). */
  abstract resolutionOf(convName: string): number;
}

/**
 * Runs `fn` in a tf.tidy scope and carries the gate logits of `quantizers` out of it with its result,
 * so a regulariser computed later in the same gradient scope can read them.
 */
export function tidyWithGates<T extends tf.Tensor>(quantizers: ReadonlyArray<readonly [string, ActQuantizerModule]>, fn: () => T): { out: T; gates: GateLogits[] } {
  const layers: string[] = [];
  const kept = tf.tidy(() => {
    const out = fn();
    const logits: tf.Tensor[] = [];
    for (const [name, q] of quantizers) {
      const l = q.lastGateLogits;
      if (l) { logits.push(l); layers.push(name); }
    }
    return { out, logits };
  });
  return { out: kept.out as T, gates: layers.map((layer, i) => ({ layer, logits: kept.logits[i] })) };
}
