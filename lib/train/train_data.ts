/**
 * The data of a training run: training pairs for the patch sampler, and the images that serve for
 * validation, model selection and (with the training batches) the statistics pass.
 * Default: the last `validationImages` training images by name are held out. `selectOn: 'Set14'`
 * reproduces the official behaviour: all training images train, Set14 validates (spec 4, 7.2).
 */
import { TrainConfig } from './config';
import { openTrainingSet, ImagePair, benchmarkImages, loadBenchmarkPair } from '../data/datasets';
import { PatchSource } from '../data/patches';
import { UserError } from '../errors';
import { benchmarkSetDir } from '../data/folders';
import * as path from 'path';

export interface TrainData {
  readonly training: PatchSource[];
  readonly validation: ImagePair[];
  /** 'validation split of T91' or 'Set14'. */
  readonly validationName: string;
  /** Files read, by data set, for the run record's checksums. */
  readonly files: Readonly<Record<string, readonly string[]>>;
}

export async function openTrainData(config: TrainConfig, root: string): Promise<TrainData> {
  const set = openTrainingSet({ root, name: config.data.train, scale: config.model.scale, ...(config.data.range ? { range: config.data.range } : {}) });
  const all = await set.loadAll();
  if (config.data.selectOn === 'Set14') {
    const names = benchmarkImages(root, 'Set14');
    const validation = [];
    for (const n of names) validation.push(await loadBenchmarkPair(root, 'Set14', n, config.model.scale));
    const set14Files = names.map((n) => path.join(benchmarkSetDir(root, 'Set14')!, 'HR', `${n}.png`));
    return { training: all, validation, validationName: 'Set14', files: { [config.data.train]: set.files, Set14: set14Files } };
  }
  const k = config.data.validationImages;
  if (all.length <= k) throw new UserError(`data.validationImages ${k}: ${config.data.train} has only ${all.length} images`);
  return { training: all.slice(0, all.length - k), validation: all.slice(all.length - k), validationName: `validation split of ${config.data.train} (${all.slice(all.length - k).map((p) => p.name).join(', ')})`, files: { [config.data.train]: set.files } };
}
