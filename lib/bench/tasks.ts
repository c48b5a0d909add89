/**
 * The work the benchmark times on our side, defined as the PyTorch peer (../shared/bench/torch_peer.py)
 * defines it, so the two sides do the same job:
 *
 *   fp_train    FP EDSR in train mode: forward, L1(sr, hr), backward, Adam (one group, 1e-4)
 *   ddtb_train  DDTB second-stage step: FP teacher forward (eval mode, no gradient), quantized student
 *               forward (train mode, dynamic bounds on the gated layers), L1 + 1000 x attention
 *               transfer on the pre-upsampler features, backward, Adam with the `bound` group (1e-2)
 *               and the `base` group (1e-4). No gate regulariser: that term exists only in the first
 *               stage (spec 3.3), and the peer has none either.
 *   fp_infer    FP forward of one LR image [1, height, width, 3] in eval mode, no gradient
 *   ddtb_infer  DDTB forward of that image in eval mode (gates run on the dynamic layers)
 *   conv        one 3x3 conv of [batch, patch, patch, feats] -> feats: forward, input gradient and
 *               filter gradient, each as one kernel call (native/bench/conv.ts, conv_peer.py)
 *
 * Inputs are uniform on 0..255 (the peer's torch.rand * 255); tensors are NHWC. Differences from the
 * peer that do not change the work: the dynamic layers are the ones the peer spreads evenly over the
 * quantizers (`peerDynamicLayers`); our student calibrates its bounds from the first batch (spec 2.6,
 * a one-off cost inside the warm-up) where the peer starts from fixed bounds; both initialise weights
 * at random.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelConfig, buildNetwork, quantGraphFor } from '../models/factory';
import { setDynamicLayers } from '../models/dynamic';
import { SrNetwork } from '../models/types';
import { QuantGraph } from '../quant/graph';
import { officialRecipe } from '../quant/recipe';
import { Adam } from '../train/adam';
import { l1Loss, attentionTransferLoss } from '../train/losses';
import { Prng } from '../data/prng';
import { variableGrads } from '../nn/gradients';

/** The model tasks, named as the peer's `--task` values. */
export const MODEL_TASKS = ['fp_train', 'ddtb_train', 'fp_infer', 'ddtb_infer'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/** A job is what one process measures: a model task, or the three conv passes together. */
export const BENCH_JOBS = [...MODEL_TASKS, 'conv'] as const;
export type BenchJob = (typeof BENCH_JOBS)[number];

/** The conv job's metrics, in the order reported. */
export const CONV_PASSES = ['conv_fwd', 'conv_bwd_data', 'conv_bwd_filter'] as const;
export type ConvPass = (typeof CONV_PASSES)[number];

/** The metric names a job reports (a model task reports itself). */
export function metricsOf(job: BenchJob): readonly string[] {
  return job === 'conv' ? CONV_PASSES : [job];
}

/** Sizes of the benchmark (the peer's arguments of the same names). */
export interface BenchShape {
  /** Residual blocks and feature channels: EDSR-baseline is 16 x 64. */
  readonly blocks: number;
  readonly feats: number;
  readonly scale: number;
  /** Bit width of the DDTB tasks. */
  readonly bits: number;
  /** Share of the quantizers with a gate (dynamic bounds), 0..1. */
  readonly dynamicRatio: number;
  /** Training batch and LR patch side (pixels). */
  readonly batch: number;
  readonly patch: number;
  /** LR image of the inference tasks (pixels). */
  readonly height: number;
  readonly width: number;
  readonly seed: number;
}

/** EDSR-baseline x4, 2 bits, 30% gates, batch 16 of 48x48 LR patches, a 128x128 LR image. */
export const DEFAULT_SHAPE: BenchShape = Object.freeze({
  blocks: 16, feats: 64, scale: 4, bits: 2, dynamicRatio: 0.3, batch: 16, patch: 48, height: 128, width: 128, seed: 1,
});

/** Multiply-adds x 2 of one k x k conv pass on [n, h, w, c] -> c (forward and both gradients alike). */
export function convFlops(shape: BenchShape, kernel = 3): number {
  return 2 * shape.batch * shape.patch * shape.patch * shape.feats * shape.feats * kernel * kernel;
}

/** Python's round(): to nearest, ties to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The dynamic layers as the peer chooses them: with n quantizers in forward order and
 * m = floor(n x ratio), the ones at round(i n / m), i = 0..m-1 (evenly spread; the real selection
 * by dynamic intensity picks as many, so the cost is the same). EDSR 16 blocks: 14 of 48.
 */
export function peerDynamicLayers(graph: QuantGraph, ratio: number): string[] {
  const acts = graph.acts.filter((a) => a.active);
  const n = acts.length;
  const m = Math.floor(n * ratio);
  const picked = new Set<number>();
  for (let i = 0; i < m; i++) picked.add(roundHalfEven((i * n) / Math.max(m, 1)));
  return acts.filter((_, i) => picked.has(i)).map((a) => a.name);
}

function modelConfig(shape: BenchShape): ModelConfig {
  return { arch: 'edsr', blocks: shape.blocks, feats: shape.feats, scale: shape.scale, resScale: 1 };
}

/** A student quantized with DDTB at `shape.bits`, gates on `peerDynamicLayers`. */
function buildDdtb(shape: BenchShape, rng: Prng): SrNetwork {
  const model = modelConfig(shape);
  const graph = quantGraphFor(model, { bits: shape.bits, act: 'ddtb' });
  const net = buildNetwork(model, graph, officialRecipe({ rng }), rng);
  setDynamicLayers(net, peerDynamicLayers(graph, shape.dynamicRatio));
  return net;
}

/** Our Adam over a network's parameters, in the trainer's two groups (empty groups left out). */
function adamFor(net: SrNetwork): Adam {
  const params = net.namedParameters();
  const group = (name: 'bound' | 'base', learningRate: number) => ({
    name, learningRate, params: params.filter(([, p]) => p.group === name).map(([n, p]) => [n, p.variable] as const),
  });
  return new Adam([group('bound', 1e-2), group('base', 1e-4)].filter((g) => g.params.length > 0));
}

/** One prepared job: `steps` are the timed units (one for a model task, one per conv pass). */
export interface PreparedJob {
  readonly steps: ReadonlyArray<readonly [metric: string, run: () => void]>;
  dispose(): void;
}

function prepareTraining(shape: BenchShape, quantized: boolean): PreparedJob {
  const rng = Prng.fromSeed(shape.seed);
  const student = quantized ? buildDdtb(shape, rng) : buildNetwork(modelConfig(shape), null, null, rng);
  const teacher = quantized ? buildNetwork(modelConfig(shape), null, null, rng).eval() : null;
  student.train();
  const adam = adamFor(student);
  const lr = tf.randomUniform([shape.batch, shape.patch, shape.patch, 3], 0, 255, 'float32', shape.seed) as tf.Tensor4D;
  const hrSide = shape.patch * shape.scale;
  const hr = tf.randomUniform([shape.batch, hrSide, hrSide, 3], 0, 255, 'float32', shape.seed + 1) as tf.Tensor4D;
  const step = () => {
    const teacherFeatures = teacher ? tf.tidy(() => teacher.forward(lr).features) : null;
    try {
      const { value, grads } = variableGrads(() => {
        const out = student.forward(lr);
        const l1 = l1Loss(out.sr, hr);
        return (teacherFeatures ? tf.add(l1, tf.mul(attentionTransferLoss(out.features, teacherFeatures), 1000)) : l1) as tf.Scalar;
      }, adam.variables());
      try {
        adam.step(grads);
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
    } finally {
      teacherFeatures?.dispose();
    }
  };
  return {
    steps: [[quantized ? 'ddtb_train' : 'fp_train', step]],
    dispose: () => { tf.dispose([lr, hr]); adam.dispose(); student.dispose(); teacher?.dispose(); },
  };
}

function prepareInference(shape: BenchShape, quantized: boolean): PreparedJob {
  const rng = Prng.fromSeed(shape.seed);
  const net = (quantized ? buildDdtb(shape, rng) : buildNetwork(modelConfig(shape), null, null, rng)).eval();
  const x = tf.randomUniform([1, shape.height, shape.width, 3], 0, 255, 'float32', shape.seed) as tf.Tensor4D;
  // The cpu backend computes eagerly: the output exists when forward returns.
  const step = () => tf.tidy(() => { net.forward(x); });
  return { steps: [[quantized ? 'ddtb_infer' : 'fp_infer', step]], dispose: () => { x.dispose(); net.dispose(); } };
}

function prepareConv(shape: BenchShape): PreparedJob {
  const { batch: n, patch: h, feats: c } = shape;
  const x = tf.randomNormal([n, h, h, c], 0, 1, 'float32', shape.seed);
  const w = tf.randomNormal([3, 3, c, c], 0, 1, 'float32', shape.seed + 1);
  const dy = tf.randomNormal([n, h, h, c], 0, 1, 'float32', shape.seed + 2);
  const conv = { strides: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], dataFormat: 'NHWC', dilations: 1 };
  // Each pass is one kernel call through tfjs's engine, as a training step makes it.
  const call = (kernel: string, inputs: tf.NamedTensorMap, attrs: object) => () => {
    (tf.engine().runKernel(kernel, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor).dispose();
  };
  return {
    steps: [
      ['conv_fwd', call('Conv2D', { x, filter: w }, conv)],
      ['conv_bwd_data', call('Conv2DBackpropInput', { dy, filter: w }, { ...conv, inputShape: [n, h, h, c] })],
      ['conv_bwd_filter', call('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: [3, 3, c, c] })],
    ],
    dispose: () => tf.dispose([x, w, dy]),
  };
}

/** Builds the models and inputs of `job` (nothing is timed here). */
export function prepareJob(job: BenchJob, shape: BenchShape): PreparedJob {
  switch (job) {
    case 'fp_train': return prepareTraining(shape, false);
    case 'ddtb_train': return prepareTraining(shape, true);
    case 'fp_infer': return prepareInference(shape, false);
    case 'ddtb_infer': return prepareInference(shape, true);
    case 'conv': return prepareConv(shape);
  }
}
