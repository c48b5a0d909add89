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
}

/** The model-level view of quantization that trainers, evaluation and notebooks use. */
export interface QuantizedParts {
  readonly graph: QuantGraph;
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
