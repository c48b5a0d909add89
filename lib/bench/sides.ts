/**
 * The two sides of the benchmark as process launchers. A side runs one job in a fresh process and
 * returns its measurement; the runner never runs two at once.
 *
 * - ours: `bin/ddtb bench --worker JOB ...` (bin/ddtb sources scripts/runtime_env.sh, so the
 *   allocator tunables and OMP_NUM_THREADS are the CLI's), one JSON line (worker.ts) on stdout;
 * - the PyTorch peer: `python ../shared/bench/torch_peer.py --task JOB ...` for the model tasks and
 *   `python native/bench/conv_peer.py` for the conv passes, NCHW or `--channels-last`, with
 *   `--threads` and OMP_NUM_THREADS set to our thread count.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../paths';
import { UserError } from '../errors';
import { BenchJob, BenchShape, metricsOf } from './tasks';
import { IterationPlan, WorkerReport } from './worker';

/** One process's result, as the runner sees it. */
export interface Measurement {
  /** Median ms per metric over the process's timed iterations. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Peak RSS of the process, MB; null when the side does not report it. */
  readonly peakRssMb: number | null;
  readonly tensorsBefore: number | null;
  readonly tensorsAfter: number | null;
  /** What ran it (ours: the backend line, which names the native kernels in use). */
  readonly backend?: string;
}

/** A launcher: runs `job` in a new process and waits for it. */
export interface Side {
  /** `ours`, `torch` (NCHW), `torch_cl` (channels-last). */
  readonly name: string;
  readonly role: 'ours' | 'peer';
  run(job: string): Promise<Measurement>;
}

/** Where the peer scripts live (repo-relative: ../shared is a sibling of the repository). */
export const TORCH_PEER = path.join(repoRoot, '..', 'shared', 'bench', 'torch_peer.py');
export const CONV_PEER = path.join(repoRoot, 'native', 'bench', 'conv_peer.py');

/** A benchmark process that exited non-zero; `status` is its exit code. */
export class ProcessFailure extends UserError {
  /** @param reason the process's last stderr line */
  constructor(message: string, readonly status: number | null, readonly reason: string) {
    super(message, 1);
  }
}

/**
 * Exit status of a `--worker` process that found the native kernels missing although the parent had
 * them (the addon is being rebuilt): the parent waits and starts it again.
 */
export const NATIVE_MISSING_STATUS = 3;

/** Runs a command and returns the last non-empty stdout line parsed as JSON; a failure names the side. */
export function runJsonProcess(label: string, file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: repoRoot, env, encoding: 'utf8', maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      if (error) {
        const why = stderr.trim().split('\n').filter((l) => l.trim()).pop() ?? error.message.split('\n')[0];
        const code = (error as { code?: unknown }).code;
        reject(new ProcessFailure(`bench: ${label} failed (exit ${String(code ?? '?')}): ${why}`, typeof code === 'number' ? code : null, why));
        return;
      }
      const line = stdout.trim().split('\n').filter((l) => l.trim()).pop();
      try {
        resolve(JSON.parse(line ?? ''));
      } catch {
        reject(new UserError(`bench: ${label} printed no JSON result (last line: ${JSON.stringify(line ?? '')})`, 1));
      }
    });
  });
}

/** How each job's process iterates; the same plan goes to both sides. */
export type IterationPlans = Readonly<Record<BenchJob, IterationPlan>>;

export interface SideSettings {
  readonly shape: BenchShape;
  readonly plans: IterationPlans;
  readonly threads: number;
  /** The peer's interpreter (Debian's python3 with python3-torch). */
  readonly python: string;
  /** `same`: the peer gets our launcher's environment too (GLIBC_TUNABLES); `plain`: without it. */
  readonly peerEnv: 'same' | 'plain';
  /** Our workers must run on the native kernels (the parent has them); else they exit with NATIVE_MISSING_STATUS. */
  readonly requireNative: boolean;
  /** When a worker finds them missing: how often to try again and how long to wait before each try (ms). */
  readonly nativeRetries?: number;
  readonly nativeRetryWaitMs?: number;
  /** Where retries are announced (default stderr). */
  readonly log?: (line: string) => void;
  /** Our launcher (default bin/ddtb). */
  readonly launcher?: string;
}

function asJob(job: string): BenchJob {
  return job as BenchJob;
}

/** Our side: each job in a fresh `bin/ddtb bench --worker` process. */
export function oursSide(settings: SideSettings): Side {
  const launcher = settings.launcher ?? path.join(repoRoot, 'bin', 'ddtb');
  return {
    name: 'ours', role: 'ours',
    async run(job) {
      const plan = settings.plans[asJob(job)];
      const args = ['bench', '--worker', job, '--warmup', String(plan.warmup), '--steps', String(plan.steps), ...shapeArgs(settings.shape),
        ...(settings.requireNative ? ['--require-native'] : [])];
      const env = { ...process.env, OMP_NUM_THREADS: String(settings.threads) };
      const retries = settings.nativeRetries ?? 20;
      const waitMs = settings.nativeRetryWaitMs ?? 30000;
      let r: WorkerReport | null = null;
      for (let attempt = 0; r === null; attempt++) {
        try {
          r = await runJsonProcess(`ours ${job}`, launcher, args, env) as WorkerReport;
        } catch (e) {
          if (!(e instanceof ProcessFailure && e.status === NATIVE_MISSING_STATUS) || attempt >= retries) throw e;
          (settings.log ?? console.error)(`  ours ${job}: ${e.reason.replace(/^ddtb: /, '')}; trying again in ${Math.round(waitMs / 1000)} s`);
          await new Promise((done) => setTimeout(done, waitMs));
        }
      }
      return { metrics: r.metrics, peakRssMb: r.peak_rss_mb, tensorsBefore: r.tensors_before, tensorsAfter: r.tensors_after, backend: r.backend };
    },
  };
}

/** `--blocks 16 --feats 64 ...`: the shape as worker options (the same names as the peer's). */
export function shapeArgs(shape: BenchShape): string[] {
  return ['--blocks', String(shape.blocks), '--feats', String(shape.feats), '--scale', String(shape.scale), '--bits', String(shape.bits),
    '--dynamic-ratio', String(shape.dynamicRatio), '--batch', String(shape.batch), '--patch', String(shape.patch),
    '--height', String(shape.height), '--width', String(shape.width), '--seed', String(shape.seed)];
}

interface TorchPeerOutput { median_ms: number; peak_rss_mb: number; threads: number }
type ConvPeerOutput = Record<'fwd_ms' | 'bwd_data_ms' | 'bwd_filter_ms', number> & { threads: number };

/** The PyTorch peer in one memory format. */
export function peerSide(settings: SideSettings, channelsLast: boolean): Side {
  const name = channelsLast ? 'torch_cl' : 'torch';
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(settings.threads) };
  if (settings.peerEnv === 'plain') delete env.GLIBC_TUNABLES;
  const layout = channelsLast ? ['--channels-last'] : [];
  const checkThreads = (got: number) => {
    if (got !== settings.threads) throw new UserError(`bench: the peer ran on ${got} threads, not ${settings.threads}`, 1);
  };
  return {
    name, role: 'peer',
    async run(job) {
      const plan = settings.plans[asJob(job)];
      if (job === 'conv') {
        if (!fs.existsSync(CONV_PEER)) throw new UserError(`bench: ${path.relative(repoRoot, CONV_PEER)} not found`);
        const { batch, patch, feats } = settings.shape;
        const r = await runJsonProcess(`${name} conv`, settings.python,
          [CONV_PEER, '--shape', `${batch},${patch},${feats},3`, '--reps', String(plan.steps), '--threads', String(settings.threads), ...layout], env) as ConvPeerOutput;
        checkThreads(r.threads);
        // conv_peer.py warms up 3 times per pass and does not report its RSS.
        return { metrics: { conv_fwd: r.fwd_ms, conv_bwd_data: r.bwd_data_ms, conv_bwd_filter: r.bwd_filter_ms }, peakRssMb: null, tensorsBefore: null, tensorsAfter: null };
      }
      if (!fs.existsSync(TORCH_PEER)) throw new UserError(`bench: the PyTorch peer ${path.relative(repoRoot, TORCH_PEER)} not found`);
      const r = await runJsonProcess(`${name} ${job}`, settings.python,
        [TORCH_PEER, '--task', job, ...shapeArgs(settings.shape), '--steps', String(plan.steps), '--warmup', String(plan.warmup),
          '--threads', String(settings.threads), ...layout], env) as TorchPeerOutput;
      checkThreads(r.threads);
      return { metrics: { [metricsOf(asJob(job))[0]]: r.median_ms }, peakRssMb: r.peak_rss_mb, tensorsBefore: null, tensorsAfter: null };
    },
  };
}
