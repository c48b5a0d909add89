/** `ddtb train`: one quantized training run (DDTB, PAMS or an ablation), resumable. */
import * as fs from 'fs';
import * as path from 'path';
import { Command, stringOption } from './command';
import { trainOptions, trainConfigFromOptions, dottedHelp } from './train_options';
import { Progress } from './progress';
import { train, TrainResult } from '../train/loop';
import { TrainConfig } from '../train/config';
import { checkpointConfig, TRAIN_CHECKPOINT } from '../train/train_checkpoint';
import { openTrainData } from '../train/train_data';
import { resolveDataRoot } from '../data/folders';
import { provenance, Provenance } from '../io/run_record';
import { writeBytesAtomic } from '../io/atomic_write';
import { ensureBackend, describeBackend } from '../backend';
import { outDir as projectOut, repoRoot } from '../paths';
import { UserError } from '../errors';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** Runs one training to completion (or resumes it), with a progress line; shared with `experiment`. */
export async function runTraining(config: TrainConfig, dataRoot: string, outDir: string, resume: boolean, label: string): Promise<TrainResult & { provenance: Provenance }> {
  ensureBackend();
  fs.mkdirSync(outDir, { recursive: true });
  const data = await openTrainData(config, dataRoot);
  const prov = provenance({ ...data.files, teacher: [path.resolve(repoRoot, config.teacher)] });
  if (!resume) {
    await writeBytesAtomic(path.join(outDir, 'config.json'), Buffer.from(`${JSON.stringify({ label, config, provenance: prov }, null, 2)}\n`));
  }
  const progress = new Progress();
  const t0 = Date.now();
  let firstIteration: number | null = null;
  const result = await train({
    config, outDir, resume, dataRoot,
    provenance: { commit: prov.commit, version: prov.version, data: JSON.stringify(prov.data) },
    onProgress: (p) => {
      firstIteration ??= p.iteration - 1;
      const done = p.iteration - firstIteration;
      const rate = done / ((Date.now() - t0) / 1000);
      const eta = (p.total - p.iteration) / rate;
      progress.update(`${label}: it ${p.iteration}/${p.total} epoch ${p.epoch} ${p.phase}${p.loss === null ? '' : ` loss ${p.loss.toFixed(3)}`} ${rate.toFixed(2)} it/s ETA ${duration(eta)}`);
    },
  });
  progress.done(`${label}: ${result.iterations} iterations in ${duration(result.seconds)}; dynamic layers: ${result.dynamic.length}; best ${result.best ? `${result.best.psnr.toFixed(3)} dB (epoch ${result.best.epoch})` : 'none'}`);
  await writeBytesAtomic(path.join(outDir, 'summary.json'), Buffer.from(`${JSON.stringify({ ...result, provenance: prov }, null, 2)}\n`));
  return { ...result, provenance: prov };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a quantized network with distillation on the official schedule (resumable)',
  dotted: dottedHelp,
  options: {
    ...trainOptions,
    out: { type: 'string', value: 'DIR', help: 'run folder (default out/runs/<time>-<method>)' },
    resume: { type: 'string', value: 'DIR', help: 'continue the run in DIR from its last checkpoint (bit-identical)' },
  },
  async run(options, _positionals, dotted) {
    ensureBackend();
    const dataRoot = resolveDataRoot(stringOption(options.data));
    const resumeDir = stringOption(options.resume);
    let config: TrainConfig;
    let outDir: string;
    if (resumeDir) {
      const ckpt = path.join(resumeDir, TRAIN_CHECKPOINT);
      if (!fs.existsSync(ckpt)) throw new UserError(`--resume ${resumeDir}: no ${TRAIN_CHECKPOINT} there`);
      config = await checkpointConfig(ckpt);
      outDir = resumeDir;
    } else {
      config = trainConfigFromOptions(options, dotted);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      outDir = stringOption(options.out) ?? path.join(projectOut, 'runs', `${stamp}-${String(options.method ?? 'ddtb')}`);
    }
    console.error(`ddtb train: ${String(options.method ?? 'ddtb')} ${config.quant.bits}-bit -> ${outDir} on ${describeBackend()}`);
    const result = await runTraining(config, dataRoot, outDir, resumeDir !== undefined, String(options.method ?? 'ddtb'));
    console.log(JSON.stringify({ outDir: result.outDir, iterations: result.iterations, seconds: Math.round(result.seconds), best: result.best, dynamic: result.dynamic, model: result.modelFile }, null, 2));
    return 0;
  },
};
