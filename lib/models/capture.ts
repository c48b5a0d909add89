/**
 * Looking inside a network at its quantization sites, for analysis (notebooks 01 and 03):
 *
 * - `fullPrecisionWeightsRecipe(recipe)`: the same activation quantizers as `recipe`, but weights that
 *   pass unchanged. With its quantizers in `float` mode (`setQuantMode(model, 'float')`) such a
 *   network computes exactly the FP network while every site still records its batch range, which
 *   is the statistics epoch of spec 4 (there the weight quantizers run at 32 bits too).
 * - `captureQuantizerInputs(model, names, run)`: copies of the tensors that the named activation
 *   quantizers receive while `run` executes (each forward adds one copy per quantizer).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { ActQuantizerModule, QuantRecipe, SrNetwork, WeightQuantizer } from './types';

/** `recipe` with every weight quantizer replaced by the identity (FP weights at quantized sites). */
export function fullPrecisionWeightsRecipe(recipe: QuantRecipe): QuantRecipe {
  const identity: WeightQuantizer = (w) => w;
  return { act: (site, graph) => recipe.act(site, graph), weight: () => identity };
}

/** One captured input: its shape (NHWC) and a copy of its values in that layout. */
export interface CapturedInput {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * Runs `run` while the activation quantizers `names` of `model` hand a copy of every input they
 * receive to the result (as Float32Array, NHWC, activation units); the quantizers then behave as
 * usual (their mode decides what they return). Returns `run`'s result and, per name, the inputs in
 * call order. The quantizers are restored afterwards, also when `run` throws. Memory: one float per
 * element per call, so capture few layers of small images.
 * Throws a UserError naming the layer for a name that is not an activation quantizer of `model`.
 */
export function captureQuantizerInputs<T>(model: SrNetwork, names: readonly string[], run: () => T): { result: T; inputs: Map<string, CapturedInput[]> } {
  if (!model.quant) throw new UserError('captureQuantizerInputs: a full-precision network has no quantizers (build it with a quantization graph)');
  const acts = model.quant.acts;
  const inputs = new Map<string, CapturedInput[]>();
  const restore: Array<() => void> = [];
  try {
    for (const name of names) {
      const q = acts.get(name) as (ActQuantizerModule & { apply: (x: tf.Tensor4D) => tf.Tensor4D }) | undefined;
      if (!q) {
        const known = [...acts.keys()];
        throw new UserError(`captureQuantizerInputs: ${name} is not an activation quantizer of this network (${known.length} known: ${known.slice(0, 3).join(', ')}, ...)`);
      }
      if (inputs.has(name)) continue;
      const list: CapturedInput[] = [];
      inputs.set(name, list);
      const hadOwn = Object.prototype.hasOwnProperty.call(q, 'apply');
      const original = q.apply;
      q.apply = (x: tf.Tensor4D) => {
        list.push({ shape: [...x.shape], values: Float32Array.from(x.dataSync() as Float32Array) });
        return original.call(q, x);
      };
      restore.push(() => {
        if (hadOwn) q.apply = original;
        else delete (q as { apply?: unknown }).apply;
      });
    }
    return { result: run(), inputs };
  } finally {
    for (const undo of restore) undo();
  }
}
