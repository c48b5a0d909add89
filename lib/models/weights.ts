/**
 * Loading weights into a network by official name: PyTorch `.pt` / `.pth` / `.pth.tar` files (plain
 * state dicts or `{ state_dict: ... }` wrappers, such as the official quantized `model_best.pth.tar`)
 * and our own safetensors checkpoints.
 *
 * A full-precision state dict initialises a quantized network too (spec 7.1): EDSR's second block conv
 * moves from `body.i.body.2` to `body.i.body.3`, and the quantizers' own state (bounds, gates, flags)
 * keeps its initial values. Anything else that does not fit is an error listing the missing keys, the
 * unexpected keys and the shape mismatches, naming the file.
 */
import * as path from 'path';
import { StateDict } from '../nn/module';
import { readTorchCheckpoint } from '../io/torch_import';
import { readSafetensors } from '../io/safetensors';
import { SrNetwork } from './types';
import { remapEdsrFpToQuantized } from './edsr';
import { syncDynamicFromFlags } from './dynamic';

export interface LoadedWeights {
  readonly stateDict: StateDict;
  readonly file: string;
  readonly format: 'zip' | 'legacy' | 'safetensors';
  /** safetensors metadata (our checkpoints), or {} */
  readonly metadata: Record<string, string>;
  readonly notes: string[];
}

export async function readWeights(file: string): Promise<LoadedWeights> {
  if (path.extname(file).toLowerCase() === '.safetensors') {
    const st = await readSafetensors(file);
    return { stateDict: st.tensors, file, format: 'safetensors', metadata: st.metadata, notes: st.notes };
  }
  const ck = await readTorchCheckpoint(file);
  return { stateDict: ck.stateDict, file, format: ck.format, metadata: {}, notes: ck.notes };
}

/** Whether `sd` carries quantizer state for `model` (a quantized checkpoint, not FP weights). */
function hasQuantizerState(model: SrNetwork, sd: StateDict): boolean {
  const acts = model.quant?.graph.acts ?? [];
  return acts.some((a) => [...sd.keys()].some((k) => k.startsWith(`${a.name}.`)));
}

/** How `loadWeights` initialised the network. */
export type WeightsUse = 'full' | 'fp-init';

/**
 * Loads `weights` into `model`. Returns 'full' when every entry came from the file, 'fp-init' when an
 * FP state dict initialised a quantized network (quantizer state left at its initial values).
 */
export function loadWeights(model: SrNetwork, weights: LoadedWeights): WeightsUse {
  const source = weights.file;
  if (!model.quant || hasQuantizerState(model, weights.stateDict)) {
    model.loadStateDict(weights.stateDict, { source });
    // A quantized checkpoint's is_dynamic flags decide which layers are dynamic (official test time).
    syncDynamicFromFlags(model);
    return 'full';
  }
  const remapped: StateDict = new Map();
  const expected = model.expectedState();
  for (const [name, entry] of weights.stateDict) {
    const target = model.arch === 'edsr' && !expected.has(name) ? remapEdsrFpToQuantized(name) : name;
    remapped.set(target, entry);
  }
  const quantizerPrefixes = model.quant.graph.acts.map((a) => `${a.name}.`);
  // EDSR's alias `body.i.body.2` lists quant_act2 a second time; it is quantizer state as well.
  const aliasPrefixes = model.arch === 'edsr' ? model.quant.graph.acts.filter((a) => a.name.endsWith('.quant_act2'))
    .map((a) => `${a.name.replace(/quant_act2$/, 'body.2')}.`) : [];
  const isQuantizerState = (n: string) => [...quantizerPrefixes, ...aliasPrefixes].some((p) => n.startsWith(p));
  model.loadStateDict(remapped, { source, allowMissing: isQuantizerState });
  return 'fp-init';
}
