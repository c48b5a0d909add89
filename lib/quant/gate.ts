/**
 * Dynamic gate controllers (spec section 3): a gate maps a quantizer's input to per-sample factors
 * beta_u, beta_l in (0, 2) that rescale the layer's bounds (u_i = beta_u,i * u, l_i = beta_l,i * l).
 * `Gate` is the small interface a quantizer talks to, so another design is a new factory, not a new
 * quantizer. `OfficialGate` is the official `atten_c` (spec 3.1):
 *
 *   x [N,H,W,C] --detach--> global average pool [N,1,1,C]
 *     -> [0] 2-bit min/max quantizer (over the whole [N,1,1,C] tensor)
 *     -> [1] 1x1 conv C->32, no bias, 2-bit symmetric weights (ternary)
 *     -> [2] BatchNorm2d(32) -> [3] ReLU -> [4] 2-bit min/max quantizer
 *     -> [5] 1x1 conv 32->2, no bias, 2-bit symmetric weights
 *     -> logits c [N,1,1,2];  beta = 2 sigmoid(c);  beta_u = beta[..., 0],  beta_l = beta[..., 1]
 *
 * State-dict names (children '1', '2', '5', as the official Sequential indices):
 * `atten_c.1.weight` [32,C,1,1], `atten_c.2.{weight,bias,running_mean,running_var,num_batches_tracked}`,
 * `atten_c.5.weight` [2,32,1,1]. Convs start from PyTorch's default uniform(+-1/sqrt(fan_in)).
 *
 * Gradient modes (spec 3.2): `official`: the two min/max quantizers detach, so conv1 and the BN affine
 * parameters get no gradient at all and only atten_c.5.weight learns; `ste`: they pass the gradient
 * straight through, so every gate parameter learns. In both modes the gate input is detached.
 *
 * Numerics: every stage reproduces PyTorch 1.13's CPU float32 arithmetic, so the gate is bit-identical
 * to the official code on all the gate fixtures (and beta, hence the per-sample bounds and their
 * rounding decisions, agree exactly): the pool sums in PyTorch's cascade order with 8-lane vectors,
 * the 1x1 convs accumulate input channels in order with fused multiply-adds (`conv1x1F32`), BatchNorm
 * follows `lib/nn/batchnorm.ts`, and the sigmoid is 1/(1 + exp(-c)) in float32 steps. The pool and
 * the convs run on the host; the tensors are [N,C] and [N,32].
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { BatchNorm2d, fmaF32 } from '../nn/batchnorm';
import { RandomSource } from '../nn/init';
import { detach } from './ste';
import { minMaxFakeQuant } from './minmax_act';
import { quantizeWeightSym } from './weight';
import { GateGradientMode } from './types';
import { registerCompositeKernel } from '../backend/composite';
import { TorchSpatialMean } from '../backend/kernels/torch_spatial_mean';

/** What a gate returns for input x [N,H,W,C]. */
export interface GateScales {
  /** beta_u per sample, [N,1,1,1], in (0, 2). */
  readonly upper: tf.Tensor;
  /** beta_l per sample, [N,1,1,1], in (0, 2). */
  readonly lower: tf.Tensor;
  /** The pre-sigmoid outputs the regulariser sees (spec 3.3); official gate: [N,1,1,2]. */
  readonly logits: tf.Tensor;
}

export interface Gate {
  /** Per-sample bound factors from the quantizer's input x [N,H,W,C]. */
  scales(x: tf.Tensor4D): GateScales;
}

/** A gate that is also a module (its parameters join the quantizer's state dict as `atten_c.*`). */
export type GateModule = Module & Gate;

/** What a gate factory is told about the quantizer it serves. */
export interface GateSpec {
  /** C, the channels of the quantizer's input. */
  readonly channels: number;
  /** The quantizer's official path (errors name `<layer>.atten_c...`). */
  readonly layer: string;
  readonly gradient: GateGradientMode;
  readonly rng: RandomSource;
}

/** Builds a gate for one quantizer. */
export type GateFactory = (spec: GateSpec) => GateModule;

/** Hidden width of the official gate. */
export const GATE_HIDDEN = 32;
/** Bit width of the official gate's activations and weights. */
export const GATE_BITS = 2;

/** Every stage output of the official gate (NHWC), for inspection and the parity tests. */
export interface GateStages extends GateScales {
  /** Global average pool of the detached input, [N,1,1,C]. */
  readonly pooled: tf.Tensor4D;
  /** Outputs of the Sequential stages 0..5 (stage 2 is the BN output before the ReLU). */
  readonly stage: readonly [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  /** The 2-bit weights used by stages 1 and 5 (HWIO). */
  readonly weight1: tf.Tensor4D;
  readonly weight5: tf.Tensor4D;
}

/** The official 2-bit dynamic gate controller `atten_c`; see the file header. */
export class OfficialGate extends Module implements Gate {
  readonly spec: GateSpec;
  readonly conv1: Conv2d;
  readonly bn: BatchNorm2d;
  readonly conv5: Conv2d;

  constructor(spec: GateSpec) {
    super();
    this.spec = spec;
    this.conv1 = this.child('1', new Conv2d({ inChannels: spec.channels, outChannels: GATE_HIDDEN, kernel: 1, bias: false }, spec.rng));
    this.bn = this.child('2', new BatchNorm2d(GATE_HIDDEN, `${spec.layer}.atten_c.2`));
    this.conv5 = this.child('5', new Conv2d({ inChannels: GATE_HIDDEN, outChannels: 2, kernel: 1, bias: false }, spec.rng));
  }

  /** All intermediates; in training mode this updates the BN running statistics. */
  stages(x: tf.Tensor4D): GateStages {
    const name = `${this.spec.layer}.atten_c`;
    const grad = this.spec.gradient === 'official' ? 'none' : 'ste';
    const t = tf.tidy(() => {
      const pooled = globalAveragePool(detach(x));
      const s0 = minMaxFakeQuant(pooled, GATE_BITS, grad, `${name}.0`) as tf.Tensor4D;
      const weight1 = quantizeWeightSym(this.conv1.weight as tf.Tensor4D, GATE_BITS, `${name}.1`);
      const s1 = conv1x1F32(s0, weight1);
      const s2 = this.bn.forward(s1);
      const s3 = tf.relu(s2);
      const s4 = minMaxFakeQuant(s3, GATE_BITS, grad, `${name}.4`) as tf.Tensor4D;
      const weight5 = quantizeWeightSym(this.conv5.weight as tf.Tensor4D, GATE_BITS, `${name}.5`);
      const logits = conv1x1F32(s4, weight5);
      const beta = tf.mul(sigmoidF32(logits), 2);
      const n = x.shape[0];
      const upper = tf.slice(beta, [0, 0, 0, 0], [n, 1, 1, 1]);
      const lower = tf.slice(beta, [0, 0, 0, 1], [n, 1, 1, 1]);
      return [pooled, s0, s1, s2, s3, s4, logits, weight1, weight5, upper, lower] as tf.Tensor4D[];
    });
    const [pooled, s0, s1, s2, s3, s4, logits, weight1, weight5, upper, lower] = t;
    return { pooled, stage: [s0, s1, s2, s3, s4, logits], weight1, weight5, upper, lower, logits };
  }

  scales(x: tf.Tensor4D): GateScales {
    const st = this.stages(x);
    // Only the scales leave; the other intermediates are freed here.
    for (const t of [st.pooled, st.weight1, st.weight5, ...st.stage.slice(0, 5)]) t.dispose();
    return { upper: st.upper, lower: st.lower, logits: st.logits };
  }
}

type GradOp = (...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
};

/**
 * A 1x1 convolution without bias of x [N,1,1,Cin] with w [1,1,Cin,Cout] (HWIO), each output summed
 * over the input channels in order with float32 fused multiply-adds: the order of PyTorch's CPU
 * convolution of these gate tensors (a BLAS sgemm with K = Cin; bit-identical on the fixtures,
 * K = 8 and 32), whatever conv kernel the tfjs backend has. Host forward; the backward is two
 * matrix products.
 */
export function conv1x1F32(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [n, h, wd, cin] = x.shape;
  const [kh, kw, win, cout] = w.shape;
  if (h !== 1 || wd !== 1 || kh !== 1 || kw !== 1 || win !== cin) {
    throw new Error(`conv1x1F32: expects x [N,1,1,C] and w [1,1,C,O], got [${x.shape.join(',')}] and [${w.shape.join(',')}]`);
  }
  const op = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
    const xs = xi.dataSync();
    const ws = wi.dataSync();
    const out = new Float32Array(n * cout);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cout; o++) {
        let acc = 0;
        for (let c = 0; c < cin; c++) acc = fmaF32(xs[b * cin + c], ws[c * cout + o], acc);
        out[b * cout + o] = acc;
      }
    }
    save([xi, wi]);
    return {
      value: tf.tensor4d(out, [n, 1, 1, cout]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const x2 = tf.reshape(saved[0], [n, cin]);
        const w2 = tf.reshape(saved[1], [cin, cout]);
        const dy2 = tf.reshape(dy, [n, cout]);
        const dx = tf.reshape(tf.matMul(dy2, w2, false, true), [n, 1, 1, cin]);
        const dw = tf.reshape(tf.matMul(x2, dy2, true, false), [1, 1, cin, cout]);
        return [dx, dw];
      },
    };
  }) as unknown as GradOp);
  return op(x, w) as tf.Tensor4D;
}

/**
 * The sigmoid in float32 operations, 1 / (1 + exp(-c)), each step rounded to float32: PyTorch's CPU
 * scalar path (used for fewer than 16 elements, e.g. the N x 2 logits of a batch below 8), bit for
 * bit; PyTorch's vectorised path for longer tensors may differ by an ulp. Differentiable.
 */
export function sigmoidF32(c: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.reciprocal(tf.add(tf.exp(tf.neg(c)), 1)));
}

/**
 * Mean over H and W of x [N,H,W,C] -> [N,1,1,C], summed in PyTorch 1.13's CPU order (the float32
 * cascade sum of `x.mean((-1, -2))` with 8-lane vectors, as AdaptiveAvgPool2d(1) computes it), then
 * divided by H*W in float32. No gradient (the gate input is detached anyway). The kernel
 * `TorchSpatialMean`: the host loop below on any backend, native code with the same additions on
 * the cpu backend (lib/backend/kernels/torch_spatial_mean.ts).
 */
export function globalAveragePool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(TorchSpatialMean, { x }, {}) as tf.Tensor4D;
}

/** The composite of `TorchSpatialMean`: a host loop over the values. */
function torchSpatialMeanComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor {
  const x = inputs.x;
  if (x.rank !== 4) throw new Error(`${TorchSpatialMean}: expected an NHWC tensor of rank 4, got rank ${x.rank}`);
  const [n, h, w, c] = x.shape;
  const data = x.dataSync() as Float32Array;
  const pixels = h * w;
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) out[i * c + k] = Math.fround(strideSumF32(data, i * pixels * c + k, c, pixels) / pixels);
  }
  return tf.tensor4d(out, [n, 1, 1, c]);
}

const LANES = 8;
const ILP = 4;
const LEVELS = 4;
const f32 = Math.fround;

/**
 * PyTorch 1.13's float32 sum of a contiguous row (ReduceOps SumKernel.cpp `cascade_sum`: with at
 * least 8 values, 8-lane vectors summed by `row_sum`, then the scalar tail, then the lanes; else the
 * scalar `row_sum`). All additions in float32.
 */
export function torchInnerSumF32(row: Float32Array): number {
  return strideSumF32(row, 0, 1, row.length);
}

// Accumulators acc[level][k][lane] of `row_sum` / `multi_row_sum`, reused between calls.
const acc = new Float32Array(LEVELS * ILP * LANES);

/**
 * The sum of `n` values data[base + e * stride] in PyTorch's order (see torchInnerSumF32).
 * `row_sum` over elements that are 8-lane vectors (n >= 8) or scalars: ILP = 4 interleaved
 * accumulators fed by the 4-level cascade of `multi_row_sum` over groups of 4 elements, the
 * remaining elements added to the first accumulator, then the four combined in order.
 */
function strideSumF32(data: Float32Array, base: number, stride: number, n: number): number {
  const width = n >= LANES ? LANES : 1;
  const size = width === LANES ? Math.floor(n / LANES) : n;
  const at = (e: number, lane: number) => data[base + (e * width + lane) * stride];
  const groups = Math.floor(size / ILP);
  const lp = Math.max(4, Math.floor(ceilLog2(groups) / LEVELS));
  const step = 2 ** lp;
  const mask = step - 1;
  const lvl = ILP * width;
  acc.fill(0, 0, LEVELS * lvl);
  let i = 0;
  while (i + step <= groups) {
    for (let j = 0; j < step; j++, i++) {
      for (let k = 0; k < ILP; k++) for (let l = 0; l < width; l++) acc[k * width + l] = f32(acc[k * width + l] + at(i * ILP + k, l));
    }
    for (let j = 1; j < LEVELS; j++) {
      for (let q = 0; q < lvl; q++) {
        acc[j * lvl + q] = f32(acc[j * lvl + q] + acc[(j - 1) * lvl + q]);
        acc[(j - 1) * lvl + q] = 0;
      }
      if ((i & (mask * 2 ** (j * lp))) !== 0) break;
    }
  }
  for (; i < groups; i++) {
    for (let k = 0; k < ILP; k++) for (let l = 0; l < width; l++) acc[k * width + l] = f32(acc[k * width + l] + at(i * ILP + k, l));
  }
  for (let j = 1; j < LEVELS; j++) for (let q = 0; q < lvl; q++) acc[q] = f32(acc[q] + acc[j * lvl + q]);
  for (let e = groups * ILP; e < size; e++) for (let l = 0; l < width; l++) acc[l] = f32(acc[l] + at(e, l));
  for (let k = 1; k < ILP; k++) for (let l = 0; l < width; l++) acc[l] = f32(acc[l] + acc[k * width + l]);
  if (width === 1) return acc[0];
  let total = 0;
  for (let e = size * LANES; e < n; e++) total = f32(total + data[base + e * stride]);
  for (let l = 0; l < LANES; l++) total = f32(total + acc[l]);
  return total;
}

/** c10::CeilLog2: 1 for x <= 2, else ceil(log2(x)). */
function ceilLog2(x: number): number {
  if (x <= 2) return 1;
  return 32 - Math.clz32(x - 1);
}

registerCompositeKernel(TorchSpatialMean, torchSpatialMeanComposite);

/** The official gate as a factory (the default of `DdtbActQuantizer`). */
export const officialGate: GateFactory = (spec) => new OfficialGate(spec);
