/**
 * The typed configuration of a quantized training run (issue 5), and the method names that
 * `ddtb experiment` compares. Presets (lib/presets.ts) are complete instances of TrainConfig;
 * `resolveTrainConfig` applies overrides, validates every field and freezes the result.
 */
import { ModelConfig } from '../models/factory';
import { ActMethod, WeightMethod } from '../quant/graph';
import { CalibrationPolicy, GateGradientMode } from '../quant/types';
import { TrainSchedule, validateSchedule } from './schedule';
import { LayerSelection } from './statistics';
import { ConfigSchema, DeepReadonly, resolveConfig } from '../config/resolve';

export interface TrainConfig {
  /** The network (teacher and student share it). */
  readonly model: ModelConfig;
  /** FP weights: the teacher and the student's initialisation (relative paths: repository root). */
  readonly teacher: string;
  readonly quant: {
    readonly bits: number;
    readonly act: ActMethod;
    /** 'default': asym99 for EDSR/SRResNet, asym for RDN (spec 5); PAMS uses 'sym'. */
    readonly weight: WeightMethod | 'default';
    readonly gateGradient: GateGradientMode;
    readonly calibration: CalibrationPolicy;
    /** Share of the active quantizers made dynamic (0.3 EDSR, 0.5 RDN, 0.1 SRResNet). */
    readonly dynamicRatio: number;
    readonly selection: LayerSelection;
  };
  readonly data: {
    /** Data root; null: --data or DDTB_DATA. */
    readonly root: string | null;
    /** Training folder under the root (T91, DIV2K, or any folder of images). */
    readonly train: string;
    /** DIV2K image numbers, e.g. "1-800"; null for all. */
    readonly range: string | null;
    readonly patchSizeHR: number;
    readonly batchSize: number;
    /** Times each image appears per sampler epoch (official 20 for DIV2K). */
    readonly repeat: number;
    /** Training images held out for validation, model selection and statistics (the last ones by name). */
    readonly validationImages: number;
    /** 'validation': the held-out split; 'Set14': the official behaviour (a test benchmark). */
    readonly selectOn: 'validation' | 'Set14';
  };
  readonly schedule: TrainSchedule;
  readonly optim: {
    readonly baseLearningRate: number;
    readonly boundLearningRate: number;
    readonly betas: readonly [number, number];
    readonly eps: number;
  };
  readonly loss: { readonly l1: number; readonly attentionTransfer: number };
  readonly run: {
    readonly seed: number;
    /** Write a checkpoint every N iterations (and at the end of every epoch). */
    readonly checkpointEvery: number;
  };
  /** Benchmarks of the final evaluation (`ddtb experiment`). */
  readonly eval: { readonly sets: readonly string[] };
}

export const trainConfigSchema: ConfigSchema = {
  'model.arch': ['edsr', 'rdn', 'srresnet'],
  'model.scale': { min: 2, max: 8, integer: true },
  'model.blocks': { min: 1, integer: true },
  'quant.bits': { min: 2, max: 8, integer: true },
  'quant.act': ['ddtb', 'ddtb-nogate', 'pams'],
  'quant.weight': ['default', 'asym99', 'asym', 'sym'],
  'quant.gateGradient': ['official', 'ste'],
  'quant.calibration': ['two-bit-only', 'every-bit-width'],
  'quant.dynamicRatio': { min: 0, max: 1 },
  'quant.selection': ['intensity', 'random'],
  'data.root': { type: 'string', nullable: true },
  'data.range': { type: 'string', nullable: true },
  'data.patchSizeHR': { min: 8, integer: true },
  'data.batchSize': { min: 2, integer: true },
  'data.repeat': { min: 1, integer: true },
  'data.validationImages': { min: 1, integer: true },
  'data.selectOn': ['validation', 'Set14'],
  'schedule.epochs': { min: 1, integer: true },
  'schedule.iterationsPerEpoch': { min: 1, integer: true },
  'optim.baseLearningRate': { greaterThan: 0 },
  'optim.boundLearningRate': { greaterThan: 0 },
  'run.seed': { integer: true, min: 0 },
  'run.checkpointEvery': { min: 1, integer: true },
};

/** Applies `overrides` to `base`, validates (unknown keys by path, types, ranges) and freezes. */
export function resolveTrainConfig(base: TrainConfig, overrides: unknown, source = ''): TrainConfig {
  const resolved = resolveConfig(base, overrides, { schema: trainConfigSchema, source }) as unknown as TrainConfig;
  validateSchedule(resolved.schedule);
  return resolved;
}

/** The methods `ddtb experiment` knows, as deltas over a DDTB config. */
export const METHODS = {
  ddtb: { quant: { act: 'ddtb' } },
  'ddtb-nogate': { quant: { act: 'ddtb-nogate', dynamicRatio: 0 } },
  'ddtb-ste': { quant: { act: 'ddtb', gateGradient: 'ste' } },
  'ddtb-random': { quant: { act: 'ddtb', selection: 'random' } },
  'ddtb-calib-all': { quant: { act: 'ddtb', calibration: 'every-bit-width' } },
  pams: { quant: { act: 'pams', weight: 'sym', dynamicRatio: 0 } },
} as const;

export type MethodName = keyof typeof METHODS;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(METHODS, name);
}
