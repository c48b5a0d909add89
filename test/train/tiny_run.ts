/** A tiny training setup for trainer tests: a random FP EDSR teacher (2 x 8, x2) saved to disk. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildNetwork, ModelConfig } from '../../lib/models/factory';
import { saveModel } from '../../lib/models/checkpoint';
import { Prng } from '../../lib/data/prng';
import { quickPreset } from '../../lib/presets';
import { resolveTrainConfig, TrainConfig } from '../../lib/train/config';

export const tinyModel: ModelConfig = { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 };

/** Writes a random FP teacher and returns a matching tiny config (4 epochs x 3 iterations). */
export async function tinySetup(overrides: unknown = {}): Promise<{ dir: string; config: TrainConfig }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-train-'));
  const teacher = buildNetwork(tinyModel, null, null, Prng.fromSeed(11));
  const teacherFile = path.join(dir, 'teacher.safetensors');
  await saveModel(teacherFile, teacher, tinyModel);
  teacher.dispose();
  const base = resolveTrainConfig({ ...quickPreset, model: tinyModel }, {
    teacher: teacherFile,
    data: { patchSizeHR: 24, batchSize: 2, validationImages: 2 },
    schedule: { epochs: 4, iterationsPerEpoch: 3, statisticsEpochs: 1, firstStage: { fromEpoch: 2, toEpoch: 2, regularizerWeight: 1 }, secondStage: { fromEpoch: 3 }, learningRateStep: { every: 2, gamma: 0.5 } },
    run: { seed: 3, checkpointEvery: 2 },
  });
  return { dir, config: resolveTrainConfig(base, overrides) };
}
