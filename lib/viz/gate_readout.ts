/**
 * What the dynamic gates of a quantized network do on one image (spec 2.4, 3; figure F-E): runs the
 * network once on a whole LR image (batch 1, in whatever mode the network is in: use eval mode, as
 * at test time) and reads every gate's pre-sigmoid output from the forward pass, turning it into
 * the per-sample factors beta_u, beta_l = 2 sigmoid(c) and the effective bounds beta_u u, beta_l l.
 * Inference only; nothing is trained.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { RgbImage } from '../data/image_types';
import type { SrNetwork } from '../models/types';

/** One dynamic layer's gate output for one image. */
export interface GateFactors {
  /** The quantizer's path, e.g. `body.3.quant_act2`. */
  readonly layer: string;
  /** The two pre-sigmoid outputs c_u, c_l. */
  readonly logits: readonly [number, number];
  /** beta_u, beta_l = 2 sigmoid(c), each in (0, 2). */
  readonly betaUpper: number;
  readonly betaLower: number;
  /** The static bounds u, l of the quantizer. */
  readonly upper: number;
  readonly lower: number;
  /** The bounds this image is quantized with: beta_u u and beta_l l. */
  readonly effectiveUpper: number;
  readonly effectiveLower: number;
}

/** 2 sigmoid(c) in double precision. */
function twoSigmoid(c: number): number {
  return 2 / (1 + Math.exp(-c));
}

/**
 * The gate factors of every gate that ran on `lr` (an 8-bit RGB LR image, the network's input on the
 * 0..255 scale), in forward order. Empty for a network without dynamic layers. Tensors are freed.
 */
export function readGateFactors(network: SrNetwork, lr: RgbImage): GateFactors[] {
  if (!network.quant) throw new UserError('readGateFactors: a full-precision network has no gates');
  const gates = tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(lr.data), [1, lr.height, lr.width, 3]);
    const out = network.forward(x);
    return out.gateLogits.map((g) => ({ layer: g.layer, logits: Array.from(g.logits.dataSync()) }));
  });
  return gates.map(({ layer, logits }) => {
    if (logits.length !== 2) throw new UserError(`readGateFactors: ${layer}: the gate gave ${logits.length} outputs for one image, expected 2 (c_u, c_l)`);
    const q = network.quant!.acts.get(layer);
    if (!q) throw new UserError(`readGateFactors: ${layer}: no such quantizer in the network`);
    const { upper, lower } = q.bounds();
    const betaUpper = twoSigmoid(logits[0]);
    const betaLower = twoSigmoid(logits[1]);
    return {
      layer, logits: [logits[0], logits[1]] as const, betaUpper, betaLower, upper, lower,
      effectiveUpper: betaUpper * upper, effectiveLower: betaLower * lower,
    };
  });
}
