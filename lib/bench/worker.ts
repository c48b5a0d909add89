/**
 * Our side of one benchmark process: prepares one job, runs warm-up iterations, then timed ones, and
 * reports per-metric medians, the process's peak RSS and the tfjs tensor count after the first and
 * after the last iteration. `ddtb bench --worker JOB` runs this in a fresh process (through bin/ddtb,
 * so allocator and thread settings are the CLI's) and prints the report as one JSON line.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend, describeBackend } from '../backend';
import { BenchJob, BenchShape, prepareJob } from './tasks';
import { median } from './stats';

/** Iterations of one process: `warmup` untimed (at least 1: the first step is a warm-up), `steps` timed. */
export interface IterationPlan {
  readonly warmup: number;
  readonly steps: number;
}

/** What one process reports (the parent reads it from the last stdout line). */
export interface WorkerReport {
  readonly job: string;
  /** Median ms of the timed iterations, per metric. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every timed iteration, ms, per metric. */
  readonly ms: Readonly<Record<string, readonly number[]>>;
  /** Process-lifetime peak resident set (VmHWM), MB (2^20 bytes). */
  readonly peak_rss_mb: number;
  /** tf.memory().numTensors after the first iteration and after the last. */
  readonly tensors_before: number;
  readonly tensors_after: number;
  readonly backend: string;
  readonly threads: number;
}

/** One field of /proc/self/status in MB (VmRSS now, VmHWM the peak); Node's numbers elsewhere. */
export function processMemoryMb(field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: fall through
  }
  return field === 'VmRSS' ? process.memoryUsage().rss / 2 ** 20 : process.resourceUsage().maxRSS / 1024;
}

function timeOnce(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** Runs `job` in this process as `plan` says. */
export function runWorker(job: BenchJob, shape: BenchShape, plan: IterationPlan): WorkerReport {
  if (!(plan.warmup >= 1 && plan.steps >= 1)) throw new Error(`runWorker: needs warmup >= 1 and steps >= 1, got ${plan.warmup} and ${plan.steps}`);
  const info = ensureBackend();
  const prepared = prepareJob(job, shape);
  const metrics: Record<string, number> = {};
  const ms: Record<string, number[]> = {};
  let tensorsBefore = -1;
  try {
    for (const [metric, run] of prepared.steps) {
      run();
      if (tensorsBefore < 0) tensorsBefore = tf.memory().numTensors;
      for (let i = 1; i < plan.warmup; i++) run();
      const times: number[] = [];
      for (let i = 0; i < plan.steps; i++) times.push(timeOnce(run));
      ms[metric] = times;
      metrics[metric] = median(times);
    }
    const tensorsAfter = tf.memory().numTensors;
    return {
      job, metrics, ms, peak_rss_mb: processMemoryMb('VmHWM'), tensors_before: tensorsBefore, tensors_after: tensorsAfter,
      backend: describeBackend(info), threads: info.threads,
    };
  } finally {
    prepared.dispose();
  }
}

/** The RSS-stability run: one long DDTB training process, RSS sampled after every iteration. */
export interface RssReport {
  readonly iterations: number;
  /** VmRSS after iteration i + 1, MB. */
  readonly rss_mb: readonly number[];
  /** Duration of iteration i + 1, ms. */
  readonly ms: readonly number[];
  /** tf.memory().numTensors after iterations 1, 20 (when run) and the last. */
  readonly tensors: Readonly<Record<string, number>>;
  readonly peak_rss_mb: number;
  readonly backend: string;
}

/** Runs `iterations` DDTB training steps in this process, sampling RSS after each. */
export function runRssWorker(shape: BenchShape, iterations: number): RssReport {
  if (!(Number.isInteger(iterations) && iterations >= 2)) throw new Error(`runRssWorker: needs at least 2 iterations, got ${iterations}`);
  const info = ensureBackend();
  const prepared = prepareJob('ddtb_train', shape);
  const [, run] = prepared.steps[0];
  const rss: number[] = [];
  const ms: number[] = [];
  const tensors: Record<string, number> = {};
  try {
    for (let i = 1; i <= iterations; i++) {
      ms.push(timeOnce(run));
      rss.push(processMemoryMb('VmRSS'));
      if (i === 1 || i === 20 || i === iterations) tensors[`after_${i}`] = tf.memory().numTensors;
    }
    return { iterations, rss_mb: rss, ms, tensors, peak_rss_mb: processMemoryMb('VmHWM'), backend: describeBackend(info) };
  } finally {
    prepared.dispose();
  }
}
