/**
 * Our model checkpoints: a safetensors file of the official state dict (PyTorch layout and names)
 * whose metadata makes it self-describing, so `ddtb eval` / `ddtb sr` rebuild the network from it:
 *
 *   "format":  "ddtb-lab/model"      "version": "1"
 *   "model":   ModelConfig as JSON    "graph":   QuantGraph as JSON, or "null" for FP
 *   plus any string entries the caller adds (run config, commit, data checksums).
 *
 * `exportOfficial` writes the same state dict as a PyTorch `.pt` file (zip format) under the official
 * names, for the official code or any PyTorch tool.
 */
import { UserError } from '../errors';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { writeTorchStateDict } from '../io/torch_export';
import { QuantGraph } from '../quant/graph';
import { ModelConfig, buildNetwork } from './factory';
import { QuantRecipe, SrNetwork } from './types';
import { RandomSource } from '../nn/init';
import { syncDynamicFromFlags } from './dynamic';

export const MODEL_FORMAT = 'ddtb-lab/model';
export const MODEL_FORMAT_VERSION = '1';

export interface ModelDescription {
  readonly model: ModelConfig;
  readonly graph: QuantGraph | null;
}

/** Writes `network` and its description (plus `extra` metadata) to a safetensors file, atomically. */
export async function saveModel(file: string, network: SrNetwork, model: ModelConfig, extra: Record<string, string> = {}): Promise<void> {
  const metadata: Record<string, string> = {
    ...extra,
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    model: JSON.stringify(model),
    graph: JSON.stringify(network.quant?.graph ?? null),
  };
  await writeSafetensors(file, network.stateDict(), metadata);
}

/** The description stored in a checkpoint's metadata, or null when it is not one of ours. */
export function describeCheckpoint(metadata: Record<string, string>, file: string): ModelDescription | null {
  if (metadata.format !== MODEL_FORMAT) return null;
  if (metadata.version !== MODEL_FORMAT_VERSION) {
    throw new UserError(`${file}: checkpoint format version ${metadata.version} is not supported (this library reads ${MODEL_FORMAT_VERSION})`);
  }
  try {
    return { model: JSON.parse(metadata.model) as ModelConfig, graph: JSON.parse(metadata.graph) as QuantGraph | null };
  } catch (e) {
    throw new UserError(`${file}: corrupt checkpoint metadata: ${(e as Error).message}`);
  }
}

/** Rebuilds a network from one of our checkpoints (eval mode). */
export async function loadModel(file: string, recipe: QuantRecipe, rng: RandomSource): Promise<{ network: SrNetwork; description: ModelDescription; metadata: Record<string, string> }> {
  const content = await readSafetensors(file);
  const description = describeCheckpoint(content.metadata, file);
  if (!description) throw new UserError(`${file}: not a ddtb-lab model checkpoint (metadata "format" is not ${MODEL_FORMAT})`);
  const network = buildNetwork(description.model, description.graph, description.graph ? recipe : null, rng);
  try {
    network.loadStateDict(content.tensors, { source: file });
    syncDynamicFromFlags(network);
    network.eval();
    return { network, description, metadata: content.metadata };
  } catch (e) {
    network.dispose();
    throw e;
  }
}

/** Writes the network's state dict as a PyTorch `.pt` file under the official names. */
export async function exportOfficial(file: string, network: SrNetwork): Promise<void> {
  await writeTorchStateDict(file, network.stateDict());
}
