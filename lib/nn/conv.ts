/**
 * Full-precision 2-D convolution, stride 1, "same" zero padding of kernel/2 on each side (PyTorch's
 * `padding=k//2` for odd k). Input NHWC, filter HWIO [k, k, in, out], bias [out].
 * Official names: `<path>.weight` (OIHW in the state dict) and `<path>.bias`.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from './module';
import { RandomSource, uniformTensor, convInitBound } from './init';
import { registerCompositeKernel } from '../backend/composite';
import { ConvSameGrad, ConvSameGradAttrs } from '../backend/kernels/conv_same_grad';
import { ConvSameAdd } from '../backend/kernels/conv_same_add';

export interface Conv2dConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Odd kernel size. */
  readonly kernel: number;
  readonly bias: boolean;
}

export class Conv2d extends Module {
  readonly config: Conv2dConfig;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(config: Conv2dConfig, rng: RandomSource) {
    super();
    if (config.kernel % 2 !== 1) throw new Error(`Conv2d: kernel ${config.kernel} must be odd`);
    this.config = config;
    const bound = convInitBound(config.inChannels, config.kernel);
    this.weight = this.param('weight', tf.tidy(() => tf.transpose(
      uniformTensor([config.outChannels, config.inChannels, config.kernel, config.kernel], bound, rng), [2, 3, 1, 0])), { layout: 'conv' });
    this.bias = config.bias ? this.param('bias', tf.tidy(() => uniformTensor([config.outChannels], bound, rng))) : null;
  }

  /**
   * x: [N,H,W,in] -> [N,H,W,out], then `activation`, or plus `residual` (a linear conv's skip
   * connection, in the same kernel). `filter` replaces the weight (a quantized copy, say).
   */
  forward(x: tf.Tensor4D, filter: tf.Tensor4D = this.weight as tf.Tensor4D, activation: ConvActivation = 'linear',
    residual?: tf.Tensor4D): tf.Tensor4D {
    return conv2dSame(x, filter, this.bias, activation, residual);
  }
}

/** tf.customGrad's argument, typed loosely: its declared type has no room for tensors plus `save`. */
type CustomOp = (...args: Array<tf.Tensor | tf.GradSaveFunc>) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** What follows the conv inside the same kernel: nothing, or a ReLU. */
export type ConvActivation = 'linear' | 'relu';

const SAME_CONV = { strides: [1, 1] as [number, number], pad: 'same' as const, dataFormat: 'NHWC' as const, dilations: [1, 1] as [number, number] };

/** The FusedConv2D kernel on x, filter and an optional bias, then `activation`. */
function fusedConvKernel(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | null, activation: ConvActivation): tf.Tensor4D {
  const inputs: tf.NamedTensorMap = bias ? { x, filter, bias } : { x, filter };
  const attrs = { ...SAME_CONV, dimRoundingMode: undefined, activation, leakyreluAlpha: undefined };
  return tf.engine().runKernel('FusedConv2D', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * The gradients of a fused conv, as tfjs's own `fused.conv2d` computes them (the same kernels in
 * the same order): dy through the activation, then the input gradient, the filter gradient and the
 * bias gradient (dy summed over N, H and W). This is the `ConvSameGrad` kernel's definition; the
 * native pack serves the same in one call (lib/backend/kernels/conv_same_grad.ts).
 */
export function convSameGradComposite(inputs: Readonly<Record<string, tf.Tensor>>, attrs: tf.NamedAttrMap): tf.Tensor[] {
  const { dy, x, filter, y } = inputs;
  const { withBias } = attrs as unknown as ConvSameGradAttrs;
  const dyPre = y ? tf.mul(dy, tf.step(y)) : dy;
  const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy: dyPre, filter },
    { ...SAME_CONV, dimRoundingMode: undefined, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dyPre },
    { ...SAME_CONV, dimRoundingMode: undefined, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return withBias ? [dx, dw, tf.reshape(tf.sum(dyPre, [0, 1, 2]), [filter.shape[3] as number])] : [dx, dw];
}

registerCompositeKernel(ConvSameGrad, convSameGradComposite);

/** The `ConvSameAdd` kernel's definition: FusedConv2D (linear) and then Add of the residual. */
export function convSameAddComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor {
  const { x, filter, bias, residual } = inputs;
  return tf.add(fusedConvKernel(x as tf.Tensor4D, filter as tf.Tensor4D, bias ?? null, 'linear'), residual);
}

registerCompositeKernel(ConvSameAdd, convSameAddComposite);

/** The gradients of conv2dSame: one ConvSameGrad kernel call. */
function fusedConvGrads(dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D, y: tf.Tensor4D | null, withBias: boolean): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = y ? { dy, x, filter, y } : { dy, x, filter };
  const attrs: ConvSameGradAttrs = { withBias };
  return tf.engine().runKernel(ConvSameGrad, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/**
 * Stride-1 "same" convolution plus an optional bias and activation: the one conv call every layer
 * uses. One FusedConv2D kernel forward; for its gradient it keeps only what the gradient reads: the
 * input and the filter, and the output only when a ReLU needs its mask. (tfjs's `fused.conv2d` also
 * keeps the output of a linear conv, so a training step held every conv output of the network
 * until its backward pass ended.)
 */
export function conv2dSame(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | null, activation: ConvActivation = 'linear',
  residual?: tf.Tensor4D): tf.Tensor4D {
  if (residual) {
    if (activation !== 'linear') throw new Error(`conv2dSame: a residual goes with a linear conv only, got activation '${activation}'`);
    return conv2dSameAdd(x, filter, bias, residual);
  }
  const relu = activation === 'relu';
  const op = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, wi, bi] = args as tf.Tensor[];
    const y = fusedConvKernel(xi as tf.Tensor4D, wi as tf.Tensor4D, bi ?? null, activation);
    save(relu ? [xi, wi, y] : [xi, wi]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      fusedConvGrads(dy as tf.Tensor4D, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, relu ? saved[2] as tf.Tensor4D : null, bi !== undefined) };
  }) as CustomOp);
  return (bias ? op(x, filter, bias) : op(x, filter)) as tf.Tensor4D;
}

/**
 * conv2dSame(x, filter, bias) + residual in one ConvSameAdd kernel (a residual block's last conv and
 * its skip connection). The gradient is conv2dSame's for the conv and dy itself for the residual.
 */
function conv2dSameAdd(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | null, residual: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, wi, ri, bi] = args as tf.Tensor[];
    const inputs: tf.NamedTensorMap = bi ? { x: xi, filter: wi, bias: bi, residual: ri } : { x: xi, filter: wi, residual: ri };
    const y = tf.engine().runKernel(ConvSameAdd, inputs, {}) as tf.Tensor4D;
    save([xi, wi]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const grads = fusedConvGrads(dy as tf.Tensor4D, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, null, bi !== undefined);
      // in the order of the op's arguments: x, filter, residual, bias
      return [grads[0], grads[1], tf.clone(dy), ...grads.slice(2)];
    } };
  }) as CustomOp);
  return (bias ? op(x, filter, residual, bias) : op(x, filter, residual)) as tf.Tensor4D;
}
