/**
 * `ddtb experiment`: trains each method with the same budget for each seed, evaluates FP, bicubic and
 * every method on the benchmarks, and writes DIR/report.md and DIR/report.json:
 *   { config, seconds, selection, methods: { <method>: <result type, per-seed values, mean and sd> } }
 * Runs already finished in DIR (same config) are reused, with their scores when those were computed
 * from the same model file, sets and data (DIR/<method>/seed-<n>/eval.json); interrupted runs resume.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { Command, listOption, stringOption } from './command';
import { trainOptions, trainConfigFromOptions, dottedHelp } from './train_options';
import { runTraining } from './train';
import { Progress } from './progress';
import { resolveDataRoot } from '../data/folders';
import { evaluateBenchmarks, bicubicUpscaler } from '../eval/benchmark';
import { upscaleImage } from '../eval/upscale';
import { combineSeeds } from '../eval/seeds';
import { EvalResult, DEFAULT_PROTOCOL, formatCell } from '../metrics/result';
import { loadModel } from '../models/checkpoint';
import { buildNetwork } from '../models/factory';
import { readWeights, loadWeights } from '../models/weights';
import { officialRecipe } from '../quant/recipe';
import { Prng } from '../data/prng';
import { writeBytesAtomic } from '../io/atomic_write';
import { TRAIN_CHECKPOINT } from '../train/train_checkpoint';
import { TrainConfig } from '../train/config';
import { SrNetwork } from '../models/types';
import { ensureBackend, describeBackend } from '../backend';
import { repoRoot } from '../paths';
import { UserError } from '../errors';
import { SeedCell } from '../eval/seeds';

export interface ExperimentReport {
  readonly config: { readonly preset: string; readonly bits: number; readonly seeds: readonly number[]; readonly methods: readonly string[]; readonly runs: Readonly<Record<string, TrainConfig>> };
  /** Wall time of this invocation, evaluation included (finished runs found in DIR are reused, not retrained). */
  readonly seconds: number;
  /** The runs this invocation took from DIR instead of training them, as `<method> seed <n>`. */
  readonly reused: readonly string[];
  /** Where model selection (and the extra statistics images) came from. */
  readonly selection: string;
  readonly trainingSeconds: Readonly<Record<string, readonly number[]>>;
  readonly methods: Readonly<Record<string, EvalResult>>;
}

async function evaluateNetwork(network: SrNetwork, root: string, sets: readonly string[], label: string, progress: Progress): Promise<EvalResult> {
  return evaluateBenchmarks({
    root, sets, scales: [network.scale], protocol: DEFAULT_PROTOCOL,
    onImage: (p) => progress.update(`eval ${label} ${p.set}: ${p.index + 1}/${p.count}`),
  }, async (pair) => upscaleImage(network, pair.lr));
}

/** Where a run's benchmark scores are kept, with what they were computed from. */
const EVAL_CACHE = 'eval.json';

interface EvalCacheKey { readonly model: string; readonly modelSha256: string; readonly sets: readonly string[]; readonly data: string; readonly protocol: unknown }

/**
 * The scores of a run's selected model: read from DIR/eval.json when it was computed from the same
 * model file (by content), sets, data root and protocol, else computed and stored there (atomically).
 */
async function evaluateRun(dir: string, modelFile: string, root: string, sets: readonly string[], label: string, progress: Progress,
  load: () => Promise<SrNetwork> = async () => (await loadModel(modelFile, officialRecipe(), Prng.fromSeed(0))).network): Promise<EvalResult> {
  const key: EvalCacheKey = {
    model: path.basename(modelFile),
    modelSha256: createHash('sha256').update(fs.readFileSync(modelFile)).digest('hex'),
    sets: [...sets],
    data: path.relative(repoRoot, path.resolve(root)),
    protocol: DEFAULT_PROTOCOL,
  };
  const cacheFile = path.join(dir, EVAL_CACHE);
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { key: EvalCacheKey; result: EvalResult };
    if (JSON.stringify(cached.key) === JSON.stringify(key)) {
      console.error(`ddtb experiment: ${label}: reusing its scores in ${cacheFile}`);
      return cached.result;
    }
  } catch { /* none yet, or unreadable: compute */ }
  const network = await load();
  try {
    const result = await evaluateNetwork(network, root, sets, label, progress);
    fs.mkdirSync(dir, { recursive: true });
    await writeBytesAtomic(cacheFile, Buffer.from(`${JSON.stringify({ key, result })}\n`));
    return result;
  } finally {
    network.dispose();
  }
}

function sameConfig(dir: string, config: TrainConfig): boolean {
  try {
    return JSON.stringify(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).config) === JSON.stringify(config);
  } catch {
    return false;
  }
}

/** The markdown report: one row per method, PSNR/SSIM per set (mean ± sd over seeds). */
export function formatReport(report: ExperimentReport): string {
  const sets = Object.keys(Object.values(report.methods)[0]?.sets ?? {});
  const scale = Object.keys(Object.values(Object.values(report.methods)[0]?.sets ?? {})[0] ?? {})[0];
  const lines = [
    `# ${report.config.bits}-bit experiment (${report.config.preset} preset), x${scale}`, '',
    `Seeds: ${report.config.seeds.join(', ')}. Model selection: ${report.selection}.`, '',
    `| method | ${sets.join(' | ')} |`, `| --- | ${sets.map(() => '---').join(' | ')} |`,
  ];
  for (const [method, result] of Object.entries(report.methods)) {
    const cells = sets.map((set) => {
      const cell = result.sets[set][scale] as SeedCell;
      const spread = cell.seeds && cell.seeds.length > 1 ? ` ± ${cell.psnrSd!.toFixed(2)}` : '';
      return `${formatCell(cell)}${spread}`;
    });
    lines.push(`| ${method} | ${cells.join(' | ')} |`);
  }
  const times = Object.entries(report.trainingSeconds).map(([m, s]) => `${m} ${s.map((x) => `${Math.round(x)} s`).join(', ')}`);
  const runSeconds = Object.values(report.trainingSeconds).flat();
  const trained = runSeconds.reduce((a, b) => a + b, 0);
  const reused = report.reused.length === 0 ? 'nothing reused'
    : report.reused.length === runSeconds.length ? 'every run reused from the folder'
      : `reused from the folder: ${report.reused.join(', ')}`;
  lines.push('', `Training time per seed: ${times.join('; ')} (${Math.round(trained)} s of training in all).`,
    `This invocation: ${Math.round(report.seconds)} s wall, evaluation included (${reused}).`, '',
    'PSNR/SSIM on Y (BT.601), border shave = scale; ± is the standard deviation over seeds.');
  return lines.join('\n');
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'train methods with the same budget over seeds, evaluate FP, bicubic and each; report.md/json',
  dotted: dottedHelp,
  options: {
    ...trainOptions,
    methods: { type: 'string', value: 'LIST', help: 'methods to compare', default: 'ddtb,pams' },
    seeds: { type: 'string', value: 'LIST', help: 'seeds, one run per method each', default: '1' },
    sets: { type: 'string', value: 'LIST', help: 'benchmarks of the final evaluation (default: the preset\'s)' },
    out: { type: 'string', value: 'DIR', help: 'experiment folder (runs, report.md, report.json)' },
  },
  async run(options, _positionals, dotted) {
    ensureBackend();
    const started = Date.now();
    const root = resolveDataRoot(stringOption(options.data));
    const methods = listOption(options.methods, 'methods');
    const seeds = listOption(options.seeds, 'seeds').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--seeds: '${s}' is not a non-negative integer`);
      return n;
    });
    const out = stringOption(options.out);
    if (!out) throw new UserError('--out DIR is required');
    const configs: Record<string, TrainConfig> = {};
    for (const m of methods) configs[m] = trainConfigFromOptions({ ...options, seed: undefined }, dotted, m);
    const base = configs[methods[0]];
    const sets = options.sets === undefined ? [...base.eval.sets] : listOption(options.sets, 'sets');
    console.error(`ddtb experiment: ${methods.join(', ')} x seeds ${seeds.join(',')} on ${describeBackend()} -> ${out}`);
    const progress = new Progress();
    const perMethod: Record<string, Array<{ seed: number; result: EvalResult }>> = {};
    const trainingSeconds: Record<string, number[]> = {};
    const reused: string[] = [];
    for (const seed of seeds) {
      for (const method of methods) {
        const config = { ...configs[method], run: { ...configs[method].run, seed } } as TrainConfig;
        const dir = path.join(out, method, `seed-${seed}`);
        const summaryFile = path.join(dir, 'summary.json');
        let modelFile: string;
        let seconds: number;
        if (fs.existsSync(summaryFile) && sameConfig(dir, config)) {
          const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
          ({ modelFile, seconds } = summary);
          reused.push(`${method} seed ${seed}`);
          console.error(`ddtb experiment: ${method} seed ${seed}: reusing the finished run in ${dir}`);
        } else {
          const resume = fs.existsSync(path.join(dir, TRAIN_CHECKPOINT)) && sameConfig(dir, config);
          const result = await runTraining(config, root, dir, resume, `${method} seed ${seed}`);
          ({ modelFile, seconds } = result);
        }
        (trainingSeconds[method] ??= []).push(seconds);
        (perMethod[method] ??= []).push({ seed, result: await evaluateRun(dir, modelFile, root, sets, `${method} seed ${seed}`, progress) });
      }
    }
    const teacherFile = path.resolve(repoRoot, base.teacher);
    const fp = await evaluateRun(path.join(out, 'fp'), teacherFile, root, sets, 'fp', progress, async () => {
      const teacher = buildNetwork(base.model, null, null, Prng.fromSeed(0));
      try {
        loadWeights(teacher, await readWeights(teacherFile));
      } catch (e) {
        teacher.dispose();
        throw e;
      }
      teacher.eval();
      return teacher;
    });
    const bicubic = await evaluateBenchmarks({ root, sets, scales: [base.model.scale], protocol: DEFAULT_PROTOCOL }, bicubicUpscaler);
    progress.done();
    const results: Record<string, EvalResult> = { bicubic, fp };
    for (const m of methods) results[m] = combineSeeds(perMethod[m]);
    const report: ExperimentReport = {
      config: { preset: String(options.preset ?? 'quick'), bits: base.quant.bits, seeds, methods, runs: configs },
      seconds: (Date.now() - started) / 1000,
      reused,
      selection: base.data.selectOn === 'Set14'
        ? 'Set14 (the official code\'s choice: a test benchmark, whose images also join the statistics; its scores here are not held out)'
        : `a validation split of ${base.data.train} (last ${base.data.validationImages} images), not a test benchmark`,
      trainingSeconds,
      methods: results,
    };
    fs.mkdirSync(out, { recursive: true });
    await writeBytesAtomic(path.join(out, 'report.json'), Buffer.from(`${JSON.stringify(report, null, 2)}\n`));
    const md = formatReport(report);
    await writeBytesAtomic(path.join(out, 'report.md'), Buffer.from(`${md}\n`));
    console.log(md);
    return 0;
  },
};
