/**
 * Full-precision training (spec 7.1, main_ori.py): L1 loss, Adam (0.9, 0.999, eps 1e-8), StepLR, random
 * init from our PRNG. `ddtb pretrain` uses it so users without official weights can make a teacher
 * (for instance the SRResNet of the dynamic-intensity notebook). A short pretrain is labelled as such
 * in the saved model's metadata.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelConfig, buildNetwork } from '../models/factory';
import { saveModel } from '../models/checkpoint';
import { SrNetwork } from '../models/types';
import { variableGrads } from '../nn/gradients';
import { Adam } from './adam';
import { l1Loss } from './losses';
import { stepLrFactor } from './schedule';
import { checkLoss } from './guards';
import { Prng } from '../data/prng';
import { PatchSampler, PatchSource, batchTensors } from '../data/patches';

export interface PretrainConfig {
  readonly model: ModelConfig;
  readonly iterations: number;
  readonly batchSize: number;
  readonly patchSizeHR: number;
  readonly learningRate: number;
  /** Halve the learning rate every this many iterations (StepLR over iterations). */
  readonly halveEvery: number;
  readonly seed: number;
}

export interface PretrainResult {
  readonly network: SrNetwork;
  readonly losses: number[];
  readonly seconds: number;
}

export async function pretrain(config: PretrainConfig, pairs: readonly PatchSource[],
  onProgress?: (p: { iteration: number; total: number; loss: number }) => void): Promise<PretrainResult> {
  const started = Date.now();
  const network = buildNetwork(config.model, null, null, Prng.fromSeed(config.seed));
  network.train();
  const sampler = new PatchSampler(pairs, { scale: config.model.scale, patchSizeHR: config.patchSizeHR, batchSize: config.batchSize, seed: config.seed });
  const adam = new Adam([{ name: 'base', learningRate: config.learningRate, params: network.namedParameters().map(([n, p]) => [n, p.variable] as const) }]);
  const losses: number[] = [];
  try {
    for (let it = 1; it <= config.iterations; it++) {
      adam.setLearningRates(stepLrFactor(it, config.halveEvery, 0.5));
      const { lr, hr } = batchTensors(sampler.nextBatch());
      try {
        const { value, grads } = variableGrads(() => l1Loss(network.forward(lr).sr, hr), adam.variables());
        const loss = value.dataSync()[0];
        checkLoss(it, { l1: loss }, losses.length ? losses[losses.length - 1] : null);
        adam.step(grads);
        tf.dispose([value, ...Object.values(grads)]);
        losses.push(loss);
        onProgress?.({ iteration: it, total: config.iterations, loss });
      } finally {
        tf.dispose([lr, hr]);
      }
    }
  } catch (e) {
    network.dispose();
    throw e;
  } finally {
    adam.dispose();
  }
  network.eval();
  return { network, losses, seconds: (Date.now() - started) / 1000 };
}

/** Saves a pretrained network with a label saying how long it trained. */
export async function savePretrained(file: string, result: PretrainResult, config: PretrainConfig, extra: Record<string, string> = {}): Promise<void> {
  await saveModel(file, result.network, config.model, {
    ...extra,
    pretrain: JSON.stringify(config),
    label: `short pretrain: ${config.iterations} iterations of batch ${config.batchSize} (not a converged model)`,
  });
}
