/**
 * The training checkpoint: ONE safetensors file (written atomically: temporary file, fsync, rename,
 * fsync of the folder) holding everything a run needs to continue bit for bit:
 * - `model.<name>`: the student's official state dict (weights, bounds, gates, BN statistics and
 *   counters, `is_dynamic` flags, calibration results `max_val`/`min_val`);
 * - `adam.<group>.<param>.exp_avg` / `.exp_avg_sq`: the optimiser's moments;
 * - metadata `train_state`: iteration, dynamic selection and its ranking, statistics recorded so far
 *   (mid statistics epoch), best validation, the sampler position and PRNG states, the optimiser's
 *   scalars (per-parameter steps, learning rates); metadata `config`: the resolved run config.
 */
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { StateDict } from '../nn/module';
import { SrNetwork } from '../models/types';
import { AdamState } from './adam';
import { IntensityRow } from '../quant/intensity';
import { SamplerState } from '../data/patches';
import { TrainConfig } from './config';
import { UserError } from '../errors';

export const TRAIN_CHECKPOINT = 'checkpoint.safetensors';
export const TRAIN_CHECKPOINT_FORMAT = 'ddtb-lab/train-checkpoint';

export interface TrainState {
  /** Global iterations completed (statistics batches included). */
  readonly iteration: number;
  readonly dynamic: readonly string[];
  readonly ranking: readonly IntensityRow[];
  /** Per-batch ranges recorded so far, when the checkpoint falls inside the statistics epoch. */
  readonly statistics: Readonly<Record<string, { readonly maxima: readonly number[]; readonly minima: readonly number[] }>> | null;
  /** Which images fed the statistics: training patches' sources and the evaluation images. */
  readonly statisticsImages: { readonly training: readonly string[]; readonly evaluation: readonly string[] };
  readonly best: { readonly epoch: number; readonly psnr: number } | null;
  readonly validation: ReadonlyArray<{ readonly epoch: number; readonly psnr: number | null }>;
  readonly lastFiniteLoss: number | null;
  /** Training seconds so far (across resumes). */
  readonly seconds: number;
  readonly sampler: SamplerState;
  readonly selectionRng: number[];
  readonly adam: AdamState | null;
}

type AdamScalars = Omit<AdamState, 'groups'> & {
  groups: Array<Omit<AdamState['groups'][number], 'params'> & { params: Array<{ name: string; step: number }> }>;
};

export async function writeTrainCheckpoint(file: string, student: SrNetwork, state: TrainState, config: TrainConfig): Promise<void> {
  const tensors: StateDict = new Map();
  for (const [name, entry] of student.stateDict()) tensors.set(`model.${name}`, entry);
  let adamScalars: AdamScalars | null = null;
  if (state.adam) {
    adamScalars = { ...state.adam, groups: state.adam.groups.map((g) => ({ ...g, params: g.params.map((p) => ({ name: p.name, step: p.step })) })) };
    for (const g of state.adam.groups) {
      for (const p of g.params) {
        tensors.set(`adam.${g.name}.${p.name}.exp_avg`, { shape: [p.exp_avg.length], dtype: 'float32', data: p.exp_avg });
        tensors.set(`adam.${g.name}.${p.name}.exp_avg_sq`, { shape: [p.exp_avg_sq.length], dtype: 'float32', data: p.exp_avg_sq });
      }
    }
  }
  await writeSafetensors(file, tensors, {
    format: TRAIN_CHECKPOINT_FORMAT,
    train_state: JSON.stringify({ ...state, adam: adamScalars }),
    config: JSON.stringify(config),
  });
}

/** Reads a checkpoint: loads the student's state and returns the training state. */
export async function readTrainCheckpoint(file: string, student: SrNetwork): Promise<TrainState> {
  const content = await readSafetensors(file);
  if (content.metadata.format !== TRAIN_CHECKPOINT_FORMAT) throw new UserError(`${file}: not a ddtb-lab training checkpoint`);
  const model: StateDict = new Map();
  for (const [name, entry] of content.tensors) if (name.startsWith('model.')) model.set(name.slice('model.'.length), entry);
  student.loadStateDict(model, { source: file });
  const raw = JSON.parse(content.metadata.train_state) as Omit<TrainState, 'adam'> & { adam: AdamScalars | null };
  let adam: AdamState | null = null;
  if (raw.adam) {
    const moment = (key: string): Float32Array => {
      const e = content.tensors.get(key);
      if (!e || e.dtype !== 'float32') throw new UserError(`${file}: optimiser moment ${key} missing`);
      return e.data as Float32Array;
    };
    adam = {
      ...raw.adam,
      groups: raw.adam.groups.map((g) => ({
        ...g,
        params: g.params.map((p) => ({ name: p.name, step: p.step, exp_avg: moment(`adam.${g.name}.${p.name}.exp_avg`), exp_avg_sq: moment(`adam.${g.name}.${p.name}.exp_avg_sq`) })),
      })),
    } as AdamState;
  }
  return { ...raw, adam };
}

/** The config stored in a checkpoint (to resume with the same recipe). */
export async function checkpointConfig(file: string): Promise<TrainConfig> {
  const content = await readSafetensors(file);
  if (content.metadata.format !== TRAIN_CHECKPOINT_FORMAT) throw new UserError(`${file}: not a ddtb-lab training checkpoint`);
  return JSON.parse(content.metadata.config) as TrainConfig;
}
