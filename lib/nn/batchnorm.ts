/**
 * BatchNorm2d as PyTorch 1.13 computes it on the CPU, for NHWC input [N,H,W,C] (statistics per
 * channel over N, H and W). Official names: `weight` (gamma, init 1), `bias` (beta, init 0),
 * `running_mean` (0), `running_var` (1), `num_batches_tracked` (an int64 counter).
 *
 * - Training: normalise with the batch mean and the biased batch variance, then update
 *   running_mean <- (1 - momentum) running_mean + momentum mean and
 *   running_var  <- (1 - momentum) running_var  + momentum unbiased variance (momentum 0.1),
 *   and count the batch. One value per channel (a batch of 1 at 1x1, as in the DDTB gate) is
 *   refused, as PyTorch refuses it ("Expected more than 1 value per channel when training").
 * - Eval: normalise with the running statistics.
 *
 * Numerics. The forward reproduces PyTorch's CPU kernels (batch_norm_kernel.cpp, built with AVX2
 * and FMA) operation by operation, so float32 results are bit-identical to the official code's
 * (checked against the gate fixtures, whose BN sees [N,32,1,1]):
 * - statistics: for H*W == 1 (PyTorch treats N,C,1,1 as channels-last) a float32 running sum over
 *   N and a fused multiply-add sum of squared deviations; otherwise float64 sums;
 *   mean = float32(sum / count), invstd = float32(1 / sqrt(float32(var_sum / count) + eps)) in float64;
 * - eval: invstd = 1 / sqrt(running_var + eps) in float32;
 * - output: a = float32(invstd * gamma), b = fma(-mean, a, beta), y = fma(x, a, b);
 * - running statistics in float32 (the unbiased-variance term as a float64 product).
 * Statistics, output and backward are named kernels (`BatchNormStats`, `BatchNormApply`,
 * `BatchNormGrad`; composites below, fused natively on the cpu backend, bit for bit the same); the
 * backward is the analytic batch-norm gradient (batch statistics in training, running ones in eval).
 */
import * as tf from '@tensorflow/tfjs';
import { Module, Counter } from './module';
import { UserError } from '../errors';
import { registerCompositeKernel } from '../backend/composite';
import { BatchNormApply, BatchNormGrad, BatchNormStats } from '../backend/kernels/batch_norm';

export interface BatchNorm2dOptions {
  /** Added to the variance before the square root (PyTorch default 1e-5). */
  readonly eps?: number;
  /** Weight of the new batch in the running statistics (PyTorch default 0.1). */
  readonly momentum?: number;
}

const f = Math.fround;

/**
 * fma(a, b, c) rounded once to float32, for float32 a, b, c: the product is exact in float64; the
 * float64 sum is corrected with its exact error where rounding it twice could land on the wrong side.
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f(s);
  if (r === s || !Number.isFinite(s)) return r;
  const t = s - p;
  const err = (p - (s - t)) + (c - t);
  if (err === 0) return r;
  // s lies strictly between float32 neighbours unless it sits exactly on their midpoint.
  const other = s > r ? nextFloat32Up(r) : nextFloat32Down(r);
  const mid = (r + other) / 2;
  if (s !== mid) return r;
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

const scratch = new Float32Array(1);
const scratchBits = new Int32Array(scratch.buffer);
function nextFloat32Up(v: number): number {
  if (v === 0) return 1.401298464324817e-45;
  scratch[0] = v;
  scratchBits[0] += v > 0 ? 1 : -1;
  return scratch[0];
}
function nextFloat32Down(v: number): number {
  return -nextFloat32Up(-v);
}

interface BatchStats { mean: Float32Array; varSum: Float32Array }

/** PyTorch's channels-last statistics (used for N,C,1,1): float32 sums over the N*H*W rows. */
function statsChannelsLast(x: Float32Array, rows: number, c: number): BatchStats {
  const sum = new Float32Array(c);
  for (let r = 0; r < rows; r++) for (let k = 0; k < c; k++) sum[k] = f(sum[k] + x[r * c + k]);
  const mean = new Float32Array(c);
  for (let k = 0; k < c; k++) mean[k] = f(sum[k] / rows);
  const varSum = new Float32Array(c);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < c; k++) {
      const d = f(x[r * c + k] - mean[k]);
      varSum[k] = fmaF32(d, d, varSum[k]);
    }
  }
  return { mean, varSum };
}

/** PyTorch's contiguous (NCHW) statistics: float64 sums per channel, samples then pixels. */
function statsContiguous(x: Float32Array, rows: number, c: number): BatchStats {
  const mean = new Float32Array(c);
  const varSum = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * c + k];
    const m = f(s / rows);
    mean[k] = m;
    let v = 0;
    for (let r = 0; r < rows; r++) {
      const d = f(x[r * c + k] - m);
      v += f(d * d);
    }
    varSum[k] = f(v);
  }
  return { mean, varSum };
}

/** `BatchNormStats` (contract in lib/backend/kernels/batch_norm.ts): mean and varSum of NHWC x. */
function runBatchNormStats(x: tf.Tensor): BatchStats {
  const [mean, varSum] = tf.engine().runKernel(BatchNormStats, { x }) as tf.Tensor[];
  const out = { mean: mean.dataSync() as Float32Array, varSum: varSum.dataSync() as Float32Array };
  tf.dispose([mean, varSum]);
  return out;
}

function statsComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor[] {
  const { x } = inputs;
  const c = x.shape[x.shape.length - 1];
  const { mean, varSum } = statsContiguous(x.dataSync() as Float32Array, x.size / c, c);
  return [tf.tensor1d(mean), tf.tensor1d(varSum)];
}

/** `BatchNormApply`: y = fma(x, a_c, b_c), one rounding (fmaF32), on the host. */
function applyComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor {
  const { x } = inputs;
  const xs = x.dataSync() as Float32Array, a = inputs.a.dataSync(), b = inputs.b.dataSync();
  const c = a.length, rows = xs.length / c;
  const out = new Float32Array(xs.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < c; k++) out[r * c + k] = fmaF32(xs[r * c + k], a[k], b[k]);
  return tf.tensor(out, x.shape, 'float32');
}

/**
 * `BatchNormGrad`: the analytic batch-norm gradient in tfjs ops, [dx, dgamma, dbeta]; training uses
 * the batch statistics (mean, invstd), eval the running ones.
 */
function gradComposite(inputs: Readonly<Record<string, tf.Tensor>>, attrs: tf.NamedAttrMap): tf.Tensor[] {
  const { dy, x, mean, invstd, gamma } = inputs;
  const rows = x.size / x.shape[x.shape.length - 1];
  const axes = [...Array(x.rank - 1).keys()];
  const xhat = tf.mul(tf.sub(x, mean), invstd);
  const sumDy = tf.sum(dy, axes);
  const sumDyXhat = tf.sum(tf.mul(dy, xhat), axes);
  const scale = tf.mul(gamma, invstd);
  const dx = attrs.training
    ? tf.mul(scale, tf.sub(tf.sub(dy, tf.div(sumDy, rows)), tf.mul(xhat, tf.div(sumDyXhat, rows))))
    : tf.mul(dy, scale);
  return [dx, sumDyXhat, sumDy];
}

registerCompositeKernel(BatchNormStats, statsComposite);
registerCompositeKernel(BatchNormApply, applyComposite);
registerCompositeKernel(BatchNormGrad, gradComposite);

type GradOp = (...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
};

export class BatchNorm2d extends Module {
  readonly channels: number;
  /** Official module path, named in errors (e.g. `body.1.quant_act1.atten_c.2`). */
  readonly layer: string;
  readonly eps: number;
  readonly momentum: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: Counter;

  constructor(channels: number, layer: string, opts: BatchNorm2dOptions = {}) {
    super();
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`${layer}: BatchNorm2d channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    this.layer = layer;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    this.weight = this.param('weight', tf.ones([channels]));
    this.bias = this.param('bias', tf.zeros([channels]));
    this.runningMean = this.buffer('running_mean', tf.zeros([channels]));
    this.runningVar = this.buffer('running_var', tf.ones([channels]));
    this.numBatchesTracked = this.counter('num_batches_tracked', 0);
  }

  /** x: [N,H,W,C] float32 -> the same shape. In training mode also updates the running statistics. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (x.rank !== 4 || c !== this.channels) throw new Error(`${this.layer}: BatchNorm2d expects [N,H,W,${this.channels}], got [${x.shape.join(',')}]`);
    const rows = n * h * w;
    if (this.training && rows <= 1) {
      throw new UserError(`${this.layer}: BatchNorm2d in training mode needs more than one value per channel, got input [${x.shape.join(',')}] (batch of 1); use a larger batch or eval mode`);
    }
    const training = this.training;
    const op = tf.customGrad(((xi: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
      const { mean, invstd } = training ? this.batchStatistics(xi, rows, h * w) : this.runningStatistics();
      const g = gamma.dataSync();
      const b = beta.dataSync();
      const a = new Float32Array(c);
      const shift = new Float32Array(c);
      for (let k = 0; k < c; k++) {
        a[k] = f(invstd[k] * g[k]);
        shift[k] = fmaF32(-mean[k], a[k], b[k]);
      }
      const value = tf.tidy(() => tf.engine().runKernel(BatchNormApply, { x: xi, a: tf.tensor1d(a), b: tf.tensor1d(shift) }) as tf.Tensor);
      save([xi, gamma, tf.tensor1d(mean), tf.tensor1d(invstd)]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xv, gv, mv, iv] = saved;
          const [dx, dgamma, dbeta] = tf.engine().runKernel(BatchNormGrad, { dy, x: xv, mean: mv, invstd: iv, gamma: gv },
            { training } as unknown as tf.NamedAttrMap) as tf.Tensor[];
          return [dx, dgamma, dbeta];
        },
      };
    }) as unknown as GradOp);
    return op(x, this.weight, this.bias) as tf.Tensor4D;
  }

  /** Batch mean and invstd (PyTorch order, see the file header); updates the running statistics. */
  private batchStatistics(x: tf.Tensor, rows: number, pixels: number): { mean: Float32Array; invstd: Float32Array } {
    const { mean, varSum } = pixels === 1 ? statsChannelsLast(x.dataSync() as Float32Array, rows, this.channels) : runBatchNormStats(x);
    const invstd = new Float32Array(this.channels);
    for (let k = 0; k < this.channels; k++) invstd[k] = f(1 / Math.sqrt(f(varSum[k] / rows) + this.eps));
    this.updateRunningStats(mean, varSum, rows);
    return { mean, invstd };
  }

  private runningStatistics(): { mean: Float32Array; invstd: Float32Array } {
    const mean = Float32Array.from(this.runningMean.dataSync());
    const rv = this.runningVar.dataSync();
    const eps = f(this.eps);
    const invstd = new Float32Array(this.channels);
    for (let k = 0; k < this.channels; k++) invstd[k] = f(1 / f(Math.sqrt(f(rv[k] + eps))));
    return { mean, invstd };
  }

  /** PyTorch's update (batch_norm_cpu_update_stats_template): float32, the variance term a float64 product. */
  private updateRunningStats(mean: Float32Array, varSum: Float32Array, rows: number): void {
    const momentum = f(this.momentum);
    const keep = f(1 - momentum);
    const rm = this.runningMean.dataSync();
    const rv = this.runningVar.dataSync();
    const newMean = new Float32Array(this.channels);
    const newVar = new Float32Array(this.channels);
    for (let k = 0; k < this.channels; k++) {
      newMean[k] = f(f(momentum * mean[k]) + f(keep * rm[k]));
      const unbiased = f(varSum[k] / (rows - 1));
      newVar[k] = f(momentum * unbiased + f(keep * rv[k]));
    }
    tf.tidy(() => {
      this.runningMean.assign(tf.tensor1d(newMean));
      this.runningVar.assign(tf.tensor1d(newVar));
    });
    this.numBatchesTracked.value += 1;
  }
}
