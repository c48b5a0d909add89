/**
 * What the kernel wrappers share: the addon's calling convention (`NativeAddon`), the slice of tfjs's
 * cpu backend they use, the fallback decision, and per-kernel call counters.
 *
 * A wrapper reads its inputs' typed arrays (`backend.data.get(dataId).values`), calls the addon,
 * and hands the new Float32Array to `backend.makeTensorInfo`; tfjs owns it from then on. Anything
 * the addon does not cover (dtype, layout, geometry) goes to the original pure-JS kernel, saved
 * with `tf.getKernel` before the native one was registered over it.
 */
import * as tf from '@tensorflow/tfjs';
import { adoptOutputs, flushReleases } from '../buffer_release';

/** Functions of build/Release/ddtb_native.node (native/*.cc). Shapes are plain number arrays. */
export interface NativeAddon {
  /** Build facts (`abi` changes when a calling convention changes) and the instruction set oneDNN runs here (`avx512_core`, `avx2`, ...). */
  info(): { onednn: string; threads: number; abi: number; isa: string; outputAlign: number; alignedOutputMin: number };
  /** The address of a typed array's first byte modulo 64 (outputs of `alignedOutputMin` bytes or more: 0). */
  dataAlignment(view: ArrayBufferView): number;
  /**
   * Gives up an ArrayBuffer nobody reads any more (buffer_release.ts decides which): one of 256 KB or
   * more joins the pool of outputs to reuse (native/buffer_pool.cc), a smaller one is detached.
   */
  release(buffer: ArrayBuffer, poolCapBytes: number): boolean;
  /** The pool of released buffers now (buffers, bytes) and its counters since start. */
  bufferPoolStats(): { buffers: number; bytes: number; pooled: number; reused: number; freed: number };
  /**
   * x: [N,H,W,CI] NHWC, filter: [KH,KW,CI,CO] HWIO, bias: [CO] or null, out: [N,OH,OW,CO].
   * conv: [strideH, strideW, dilationH, dilationW, padTop, padBottom, padLeft, padRight, algo, layout].
   * relu: max(0, .) after the bias; residual (out's shape, linear convs only): added after the bias.
   */
  conv2dForward(x: Float32Array, xShape: number[], filter: Float32Array, filterShape: number[],
    bias: Float32Array | null, outShape: number[], conv: number[], relu: boolean, residual?: Float32Array | null): Float32Array;
  /** dx [N,H,W,CI] from dy [N,OH,OW,CO] and the HWIO filter. */
  conv2dBackpropInput(dy: Float32Array, dyShape: number[], filter: Float32Array, filterShape: number[],
    xShape: number[], conv: number[]): Float32Array;
  /** dfilter [KH,KW,CI,CO] (HWIO) from x [N,H,W,CI] and dy [N,OH,OW,CO]. */
  conv2dBackpropFilter(x: Float32Array, xShape: number[], dy: Float32Array, dyShape: number[],
    filterShape: number[], conv: number[]): Float32Array;
  /**
   * Both gradients of a conv (kernels/conv_same_grad.ts): [dx, dfilter, dbias or null], dy first
   * multiplied by step(y) when y is given.
   */
  conv2dBackward(x: Float32Array, xShape: number[], dy: Float32Array, dyShape: number[], filter: Float32Array,
    filterShape: number[], y: Float32Array | null, conv: number[], withBias: boolean): [Float32Array, Float32Array, Float32Array | null];
  /**
   * The forward conv oneDNN picks for this geometry (diagnostics): its implementation name and the
   * layouts of its input and output ('nhwc' in place; 'blocked' or 'plain' reordered around the call).
   */
  convForwardLayouts(xShape: number[], filterShape: number[], outShape: number[], conv: number[]):
    { impl: string; src: 'nhwc' | 'blocked' | 'plain'; dst: 'nhwc' | 'blocked' | 'plain' };
  /**
   * What runs the filter gradient of this geometry (diagnostics): 'conv_filter_grad:avx512' or
   * 'conv_filter_grad:avx2' (the addon's own kernel), else oneDNN's implementation name.
   */
  convFilterGradImpl(xShape: number[], filterShape: number[], outShape: number[], conv: number[]): string;
  /** Broadcast a (op) b, float32; op: 0 add, 1 sub, 2 mul, 3 div. Output has the broadcast shape. */
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[]): Float32Array;
  /** op: 0 relu, 1 step (x > 0 ? 1 : alpha; NaN stays NaN), 2 abs, 3 neg. */
  unary(op: number, x: Float32Array, alpha: number): Float32Array;
  /** Mean over H and W of NHWC x ([n, h, w, c]) in PyTorch's summation order: [n * c] (kernels/torch_spatial_mean.ts). */
  torchSpatialMean(x: Float32Array, shape: number[]): Float32Array;
  /** Sum over `axes` (divisor 0) or Mean (each element divided by `divisor` first), kept dims only. */
  reduce(x: Float32Array, shape: number[], axes: number[], divisor: number): Float32Array;
  /** Axis permutation of a 4-byte tensor; returns the same typed-array type. */
  transpose<T extends Float32Array | Int32Array>(x: T, shape: number[], perm: number[]): T;
  /** x[begin : begin + size] of a 4-byte tensor, copied; returns the same typed-array type. */
  slice<T extends Float32Array | Int32Array>(x: T, shape: number[], begin: number[], size: number[]): T;
  /**
   * The DDTB fake quantization of x (kernels/ddtb_fake_quant.ts), x read as `samples` equal runs;
   * upper and lower hold 1 value or one per sample. Returns x^, the length of x.
   */
  ddtbFakeQuant(x: Float32Array, samples: number, upper: Float32Array, lower: Float32Array, bits: number): Float32Array;
  /** Its gradient from dy, x and the forward's output: [dx, du, dl], the lengths of x, upper and lower. */
  ddtbFakeQuantGrad(dy: Float32Array, x: Float32Array, output: Float32Array, samples: number, upper: Float32Array,
    lower: Float32Array, bits: number): [Float32Array, Float32Array, Float32Array];
  /** The PAMS fake quantization of x with the single bound alpha (kernels/pams_fake_quant.ts); clamp 0 or 1. */
  pamsFakeQuant(x: Float32Array, alpha: Float32Array, bits: number, clamp: number): Float32Array;
  /** Its gradient from dy, x and the forward's output: [dx, dalpha]. */
  pamsFakeQuantGrad(dy: Float32Array, x: Float32Array, output: Float32Array, alpha: Float32Array, bits: number,
    clamp: number): [Float32Array, Float32Array];
  /** PReLU with the single slope w (kernels/prelu_shared.ts). */
  prelu(x: Float32Array, w: Float32Array): Float32Array;
  /** Its gradient: [dx, dw]. */
  preluGrad(dy: Float32Array, x: Float32Array, w: Float32Array): [Float32Array, Float32Array];
  /** BatchNorm2d statistics of NHWC x with `channels` channels: [mean, varSum] (kernels/batch_norm.ts). */
  bnStats(x: Float32Array, channels: number): [Float32Array, Float32Array];
  /** y = fma(x, a_c, b_c) per channel (channels: the length of a). */
  bnApply(x: Float32Array, a: Float32Array, b: Float32Array): Float32Array;
  /** The BatchNorm2d backward: [dx, dgamma, dbeta]; training 0 or 1. */
  bnGrad(dy: Float32Array, x: Float32Array, mean: Float32Array, invstd: Float32Array, gamma: Float32Array,
    training: number): [Float32Array, Float32Array, Float32Array];
}

/** The part of tfjs's cpu backend (MathBackendCPU) that the wrappers use. */
export interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values?: tf.backend_util.BackendValues }; has(dataId: tf.DataId): boolean };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

/** A kernel's named inputs (tfjs types them as possibly undefined; the op layer always passes these). */
export type Inputs<K extends string> = Record<K, tf.TensorInfo>;

/** The arguments tfjs passes to a kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Calls of one kernel served natively and by the pure-JS fallback, since registration. */
export interface KernelCalls {
  native: number;
  fallback: number;
}

const calls = new Map<string, KernelCalls>();

/** Counters per kernel name (a live view; reset with `resetKernelCalls`). */
export function kernelCalls(): ReadonlyMap<string, Readonly<KernelCalls>> {
  return calls;
}

/** Zeroes every counter. */
export function resetKernelCalls(): void {
  for (const c of calls.values()) {
    c.native = 0;
    c.fallback = 0;
  }
}

function counter(name: string): KernelCalls {
  let c = calls.get(name);
  if (!c) {
    c = { native: 0, fallback: 0 };
    calls.set(name, c);
  }
  return c;
}

/**
 * Builds a KernelConfig for the cpu backend: `native(args)` returns the result, or null to hand
 * the call to the original kernel unchanged.
 */
export function nativeKernel(
  original: tf.KernelConfig,
  native: (args: KernelArgs, backend: CpuBackendLike) => tf.TensorInfo | tf.TensorInfo[] | null,
): tf.KernelConfig {
  const c = counter(original.kernelName);
  const kernelFunc: tf.KernelFunc = (args) => {
    flushReleases();
    const out = native(args, args.backend as CpuBackendLike);
    if (out !== null) {
      c.native++;
      adoptOutputs(args.backend as CpuBackendLike, out, Object.values(args.inputs) as Array<tf.TensorInfo | undefined>);
      return out;
    }
    c.fallback++;
    return original.kernelFunc(args);
  };
  return { ...original, kernelFunc };
}

/** The Float32Array behind a float32 tensor, or null (other dtype, or not a plain typed array). */
export function float32Values(backend: CpuBackendLike, t: tf.TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}

/** Convolution algorithm passed to oneDNN: 0 direct (default), 1 Winograd where it exists (DDTB_WINOGRAD=1). */
export function convAlgorithm(): number {
  return process.env.DDTB_WINOGRAD === '1' ? 1 : 0;
}

/**
 * Activation layout inside the addon's convs (`DDTB_CONV_LAYOUT`):
 *   2 `auto` (default): NHWC in place where oneDNN runs AVX-512 code, `blocked` where it runs AVX2
 *   1 `blocked`: oneDNN picks its blocked layout, the activations are reordered into it and back
 *     around each call
 *   0 `nhwc`: oneDNN alone, on the NHWC tensors in place (the addon's own conv kernels stay off)
 * All compute the same sums up to float32 rounding order.
 */
export function convLayout(): number {
  const v = process.env.DDTB_CONV_LAYOUT;
  if (v === undefined || v === '' || v === 'auto') return 2;
  if (v === 'blocked') return 1;
  if (v === 'nhwc') return 0;
  throw new Error(`DDTB_CONV_LAYOUT must be 'auto' (the default), 'blocked' or 'nhwc', got '${v}'`);
}

/**
 * How the convs hold their activations under the current DDTB_CONV_LAYOUT, given oneDNN's
 * instruction set (`info().isa`), in words for `ddtb doctor`.
 */
export function convLayoutName(isa: string): string {
  let layout: number;
  try {
    layout = convLayout();
  } catch (e) {
    return (e as Error).message;
  }
  if (layout === 0) return 'oneDNN on NHWC in place (DDTB_CONV_LAYOUT=nhwc)';
  // as native/conv.cc ReadGeometry: auto is blocked below AVX-512 and with Winograd (which takes no other layout)
  if (layout === 1 || !isa.startsWith('avx512') || convAlgorithm() === 1) return `blocked layout, reordered around each call${layout === 2 ? ' (auto)' : ''}`;
  return 'NHWC in place (auto)';
}

/** Native geometry of a 2-D convolution, in the addon's `conv` layout, with the output shape. */
export interface ConvPlan {
  readonly xShape: number[];
  readonly filterShape: number[];
  readonly outShape: number[];
  readonly conv: number[];
}

/**
 * Plans an NHWC/HWIO convolution for the addon, or returns null when the addon does not cover it:
 * NCHW, or padding whose output size does not follow oneDNN's rule
 * `OH = (H + padTop + padBottom - ((KH - 1) * dilationH + 1)) / strideH + 1` (integer division).
 * Strides, dilations, 'same', 'valid' and explicit padding are otherwise native.
 */
export function planConv(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: [number, number] | number,
  dilations: [number, number] | number,
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  dataFormat: 'NHWC' | 'NCHW' | undefined,
): ConvPlan | null {
  if ((dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  if (filterShape[2] !== xShape[3]) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) return null;
  const ekh = (info.filterHeight - 1) * info.dilationHeight + 1;
  const ekw = (info.filterWidth - 1) * info.dilationWidth + 1;
  const spanH = info.inHeight + top + bottom - ekh, spanW = info.inWidth + left + right - ekw;
  if (spanH < 0 || spanW < 0 || info.outHeight < 1 || info.outWidth < 1) return null;
  if (Math.floor(spanH / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor(spanW / info.strideWidth) + 1 !== info.outWidth) return null;
  if (info.batchSize === 0 || info.inChannels === 0 || info.outChannels === 0) return null;
  return {
    xShape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
    filterShape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
    outShape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels],
    conv: [info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
      top, bottom, left, right, convAlgorithm(), convLayout()],
  };
}
