/**
 * `ddtb bench` options -> one typed, frozen settings object. Errors name the option.
 */
import * as os from 'os';
import { UserError } from '../errors';
import { BENCH_JOBS, BenchJob, BenchShape, DEFAULT_SHAPE } from './tasks';
import { IterationPlan } from './worker';
import { IterationPlans } from './sides';

type Values = Readonly<Record<string, string | boolean | undefined>>;

export interface BenchSettings {
  readonly mode: 'compare' | 'rss' | 'worker';
  /** The job a `--worker` process runs. */
  readonly worker: BenchJob | null;
  readonly rounds: number;
  readonly jobs: readonly BenchJob[];
  readonly plans: IterationPlans;
  readonly shape: BenchShape;
  readonly threads: number;
  readonly json: boolean;
  readonly quick: boolean;
  readonly python: string;
  readonly peerEnv: 'same' | 'plain';
  /** `--require-native`: a worker exits with NATIVE_MISSING_STATUS unless the native kernels are loaded. */
  readonly requireNative: boolean;
  /** Rounds in which the peer runs both layouts; then only a task's faster one (>= rounds: always both). */
  readonly layoutRounds: number;
  /** `--rss`: iterations of the long process and the first iteration of the window. */
  readonly rssIterations: number;
  readonly rssFrom: number;
}

/** Warm-up and timed iterations per process (the peer's own defaults for training: 2 and 5). */
export const DEFAULT_PLANS: IterationPlans = Object.freeze({
  fp_train: { warmup: 2, steps: 5 }, ddtb_train: { warmup: 2, steps: 5 },
  fp_infer: { warmup: 2, steps: 10 }, ddtb_infer: { warmup: 2, steps: 10 },
  // conv_peer.py always warms up 3 times per pass; `steps` is its --reps
  conv: { warmup: 3, steps: 15 },
});

/** `--quick`: a smoke check of the whole path, not a measurement. */
export const QUICK_PLANS: IterationPlans = Object.freeze({
  fp_train: { warmup: 1, steps: 2 }, ddtb_train: { warmup: 1, steps: 2 },
  fp_infer: { warmup: 1, steps: 3 }, ddtb_infer: { warmup: 1, steps: 3 },
  conv: { warmup: 3, steps: 5 },
});

export const DEFAULT_ROUNDS = 15;
export const QUICK_ROUNDS = 3;

function integer(values: Values, name: string, fallback: number, min: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${name}: '${String(v)}' is not an integer >= ${min}`);
  return n;
}

function fraction(values: Values, name: string, fallback: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' ? Number(v) : NaN;
  if (!(n >= 0 && n <= 1)) throw new UserError(`--${name}: '${String(v)}' is not a number in [0, 1]`);
  return n;
}

function job(name: string, option: string): BenchJob {
  if ((BENCH_JOBS as readonly string[]).includes(name)) return name as BenchJob;
  throw new UserError(`--${option}: unknown task '${name}' (tasks: ${BENCH_JOBS.join(', ')})`);
}

/** Parses the option values of `ddtb bench` (see lib/cli/bench.ts for their help). */
export function parseBenchOptions(values: Values, env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const quick = values.quick === true;
  const worker = typeof values.worker === 'string' ? job(values.worker, 'worker') : null;
  if (values.worker === true) throw new UserError('--worker needs a task name');
  if (worker && values.rss) throw new UserError('--worker and --rss cannot be combined');
  let jobs: BenchJob[] = [...BENCH_JOBS];
  if (values.tasks !== undefined) {
    if (typeof values.tasks !== 'string' || values.tasks.trim() === '') throw new UserError('--tasks needs a comma-separated list');
    jobs = [...new Set(values.tasks.split(',').map((s) => s.trim()).filter(Boolean).map((s) => job(s, 'tasks')))];
  }
  const base = quick ? QUICK_PLANS : DEFAULT_PLANS;
  // --warmup/--steps set the model tasks' plans; a worker process takes them for any job.
  const override = (p: IterationPlan, isConv: boolean): IterationPlan => (isConv && !worker ? p : {
    warmup: integer(values, 'warmup', p.warmup, 1), steps: integer(values, 'steps', p.steps, 1),
  });
  const plans = Object.fromEntries(Object.entries(base).map(([k, p]) => [k, Object.freeze(override(p, k === 'conv'))])) as unknown as IterationPlans;
  const shape: BenchShape = Object.freeze({
    blocks: integer(values, 'blocks', DEFAULT_SHAPE.blocks, 1),
    feats: integer(values, 'feats', DEFAULT_SHAPE.feats, 1),
    scale: integer(values, 'scale', DEFAULT_SHAPE.scale, 2),
    bits: integer(values, 'bits', DEFAULT_SHAPE.bits, 2),
    dynamicRatio: fraction(values, 'dynamic-ratio', DEFAULT_SHAPE.dynamicRatio),
    batch: integer(values, 'batch', DEFAULT_SHAPE.batch, 1),
    patch: integer(values, 'patch', DEFAULT_SHAPE.patch, 1),
    height: integer(values, 'height', DEFAULT_SHAPE.height, 1),
    width: integer(values, 'width', DEFAULT_SHAPE.width, 1),
    seed: integer(values, 'seed', DEFAULT_SHAPE.seed, 0),
  });
  if (![2, 3, 4].includes(shape.scale)) throw new UserError(`--scale: ${shape.scale} is not 2, 3 or 4 (the peer's upsamplers)`);
  const envThreads = Number(env.OMP_NUM_THREADS);
  const threads = integer(values, 'threads', Number.isInteger(envThreads) && envThreads > 0 ? envThreads : os.cpus().length, 1);
  const peerEnv = values['peer-env'] ?? 'same';
  if (peerEnv !== 'same' && peerEnv !== 'plain') throw new UserError(`--peer-env: '${String(peerEnv)}' is not 'same' or 'plain'`);
  const rssIterations = integer(values, 'rss-iterations', quick ? 20 : 200, 3);
  const rssFrom = integer(values, 'rss-from', quick ? 5 : 50, 1);
  if (rssFrom >= rssIterations) throw new UserError(`--rss-from: ${rssFrom} must be below --rss-iterations (${rssIterations})`);
  const python = typeof values.python === 'string' ? values.python : '/usr/bin/python3';
  return Object.freeze({
    mode: worker ? 'worker' : values.rss ? 'rss' : 'compare', worker,
    rounds: integer(values, 'rounds', quick ? QUICK_ROUNDS : DEFAULT_ROUNDS, 1),
    jobs: Object.freeze(jobs), plans: Object.freeze(plans), shape, threads, json: values.json === true, quick, python, peerEnv,
    rssIterations, rssFrom, layoutRounds: integer(values, 'layout-rounds', 3, 1), requireNative: values['require-native'] === true,
  });
}
