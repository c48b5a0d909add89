/**
 * The DDTB activation quantizer (spec section 2): the formula with its hand-written gradient, and
 * the module that holds the bounds, the calibration and the gate.
 *
 * The formula (spec 2.2, fixture README "Numerics"), in float32, in exactly this operation order:
 *   c = max(min(x, u), l)                 clamp to [l, u]
 *   s = fl(fl(1 / (u - l)) * n)           n = 2^k - 1; reciprocal first, as PyTorch evaluates n / tensor
 *   z = round(s * l) + 2^(k-1)            integer zero point
 *   q = round(fl(s * c) - z)              signed k-bit integer code
 *   x^ = (q + z) / s                      true division
 * Rounding is half to even. Example (spec 2.2): k = 2, l = -1.7, u = 2.3 gives s = 0.75, z = 1 and the
 * levels {-1.333, 0, 1.333, 2.667}.
 *
 * Its gradient (spec 2.3, with PyTorch 1.13's 50/50 split of max/min at exact ties), per element:
 *   dx^/dx = 1[l<x<u] + 1/2 1[x=u] + 1/2 1[x=l]
 *   dx^/du = 1[x>u] + 1/2 1[x=u] + (x^ - c)/(u - l)
 *   dx^/dl = 1[x<l] + 1/2 1[x=l] - (x^ - c)/(u - l)
 * summed over all elements (a scalar bound) or over each sample (a per-sample bound).
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { RandomSource } from '../nn/init';
import { UserError } from '../errors';
import { BatchRangeRecorder, percentiles } from './observer';
import { CalibrationPolicy, GateGradientMode, QuantMode, checkBits } from './types';
import { GateFactory, GateModule } from './gate';
import { registerCompositeKernel } from '../backend/composite';
import { DdtbFakeQuant, DdtbFakeQuantAttrs, DdtbFakeQuantGrad } from '../backend/kernels/ddtb_fake_quant';

/** The scale s and zero point z of the zero-aligned asymmetric k-bit grid over [lower, upper]. */
export interface AsymmetricGrid {
  /** s = fl(fl(1/(u - l)) * (2^k - 1)): levels per unit. Same shape as the bounds. */
  readonly scale: tf.Tensor;
  /** z = round(s * l) + 2^(k-1). Same shape as the bounds. */
  readonly zeroPoint: tf.Tensor;
}

/**
 * s and z for bounds `upper` > `lower` (scalars, [1], or per-sample [N,1,1,1]); spec 2.2. Shared by
 * the activation, gate and asymmetric weight quantizers, so the scale is computed in one place.
 */
export function asymmetricGrid(upper: tf.Tensor, lower: tf.Tensor, bits: number): AsymmetricGrid {
  return tf.tidy(() => {
    const levels = 2 ** bits - 1;
    const scale = tf.mul(tf.reciprocal(tf.sub(upper, lower)), levels);
    const zeroPoint = tf.add(tf.round(tf.mul(scale, lower)), 2 ** (bits - 1));
    return { scale, zeroPoint };
  });
}

/**
 * The integer code q = round(fl(s*c) - z) and the de-quantized value (q + z)/s of already clamped
 * values `c` (any shape, broadcasting with s and z). Plain rounding: no gradient semantics.
 */
export function gridValues(c: tf.Tensor, grid: AsymmetricGrid): { code: tf.Tensor; value: tf.Tensor } {
  return tf.tidy(() => {
    const code = tf.round(tf.sub(tf.mul(grid.scale, c), grid.zeroPoint));
    const value = tf.div(tf.add(code, grid.zeroPoint), grid.scale);
    return { code, value };
  });
}

/** Every intermediate of the DDTB formula, for inspection (notebooks, parity tests). */
export interface DdtbQuantParts extends AsymmetricGrid {
  /** c = clamp(x, l, u), the shape of x. */
  readonly clamped: tf.Tensor;
  /** q, the signed integer codes, the shape of x. */
  readonly code: tf.Tensor;
  /** x^, the shape of x. */
  readonly output: tf.Tensor;
}

/** Forward of the DDTB formula with all intermediates (no gradient semantics); see the file header. */
export function ddtbQuantParts(x: tf.Tensor, upper: tf.Tensor, lower: tf.Tensor, bits: number): DdtbQuantParts {
  checkBounds(x, upper, lower, bits);
  return tf.tidy(() => {
    const clamped = tf.maximum(tf.minimum(x, upper), lower);
    const grid = asymmetricGrid(upper, lower, bits);
    const { code, value } = gridValues(clamped, grid);
    return { clamped, scale: grid.scale, zeroPoint: grid.zeroPoint, code, output: value };
  });
}

function checkBounds(x: tf.Tensor, upper: tf.Tensor, lower: tf.Tensor, bits: number): void {
  checkBits(bits, 'ddtbFakeQuant');
  for (const [name, b] of [['upper', upper], ['lower', lower]] as const) {
    if (b.size === 1) continue;
    const perSample = x.rank === 4 && b.rank === 4 && b.shape[0] === x.shape[0] && b.shape[1] === 1 && b.shape[2] === 1 && b.shape[3] === 1;
    if (!perSample) {
      throw new Error(`ddtbFakeQuant: ${name} bound must be a scalar or per-sample [N,1,1,1] for x [${x.shape.join(',')}], got [${b.shape.join(',')}]`);
    }
  }
}

/** Sums a per-element bound gradient back to the bound's shape (all elements, or per sample). */
function reduceToBound(g: tf.Tensor, bound: tf.Tensor): tf.Tensor {
  return bound.size === 1 ? tf.reshape(tf.sum(g), bound.shape) : tf.sum(g, [1, 2, 3], true);
}

/** Masks of the clamp max(min(x, u), l) that the hand-written backward needs, as float32 0/1. */
function clampMasks(x: tf.Tensor, upper: tf.Tensor, lower: tf.Tensor) {
  const eqU = tf.cast(tf.equal(x, upper), 'float32');
  const eqL = tf.cast(tf.equal(x, lower), 'float32');
  const inside = tf.cast(tf.logicalAnd(tf.greater(x, lower), tf.less(x, upper)), 'float32');
  return { eqU, eqL, inside };
}

/**
 * d clamp(x, l, u) / dx as PyTorch 1.13 computes it for torch.max(torch.min(x, u), l):
 * 1[l<x<u] + 1/2 1[x=u] + 1/2 1[x=l] (an exact tie splits the gradient 50/50 with the bound).
 * Shape of x; the bounds broadcast.
 */
export function tieSplitMask(x: tf.Tensor, upper: tf.Tensor, lower: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { eqU, eqL, inside } = clampMasks(x, upper, lower);
    return tf.add(inside, tf.mul(tf.add(eqU, eqL), 0.5));
  });
}

/**
 * The composite forward of kernel `DdtbFakeQuant` (lib/backend/kernels/ddtb_fake_quant.ts states
 * the contract): the formula of the file header in tfjs ops, on any backend. The native kernel of
 * the cpu backend reproduces it bit for bit.
 */
function fakeQuantComposite(inputs: Readonly<Record<string, tf.Tensor>>, attrs: tf.NamedAttrMap): tf.Tensor {
  const { x, upper, lower } = inputs;
  const clamped = tf.maximum(tf.minimum(x, upper), lower);
  return gridValues(clamped, asymmetricGrid(upper, lower, attrs.bits as number)).value;
}

/**
 * The composite backward, kernel `DdtbFakeQuantGrad`: [dx, du, dl] from dy, x, the bounds and the
 * forward's output, as in the file header. Every per-element term is one float32 operation and the
 * bound sums are tfjs's Sum, an order the native kernel keeps.
 */
function fakeQuantGradComposite(inputs: Readonly<Record<string, tf.Tensor>>): tf.Tensor[] {
  const { dy, x, upper, lower, output } = inputs;
  const c = tf.maximum(tf.minimum(x, upper), lower);
  const { eqU, eqL, inside } = clampMasks(x, upper, lower);
  const halfU = tf.mul(eqU, 0.5);
  const halfL = tf.mul(eqL, 0.5);
  const dx = tf.mul(dy, tf.add(inside, tf.add(halfU, halfL)));
  // g * (x^ - c)/(u - l): the rounding residual over the range, on every element.
  const residual = tf.mul(dy, tf.div(tf.sub(output, c), tf.sub(upper, lower)));
  const aboveU = tf.add(tf.cast(tf.greater(x, upper), 'float32'), halfU);
  const belowL = tf.add(tf.cast(tf.less(x, lower), 'float32'), halfL);
  const du = reduceToBound(tf.add(tf.mul(dy, aboveU), residual), upper);
  const dl = reduceToBound(tf.sub(tf.mul(dy, belowL), residual), lower);
  return [dx, du, dl];
}

/** The one gradient of `DdtbFakeQuant`: the backward kernel, run once for all three inputs. */
const fakeQuantGradConfig: tf.GradConfig = {
  kernelName: DdtbFakeQuant,
  inputsToSave: ['x', 'upper', 'lower'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, upper, lower, output] = saved;
    const [dx, du, dl] = tf.engine().runKernel(DdtbFakeQuantGrad, { dy: dy as tf.Tensor, x, upper, lower, output }, attrs) as tf.Tensor[];
    return { x: () => dx, upper: () => du, lower: () => dl };
  },
};

/**
 * Defines the DDTB fake-quant kernels (composites for every backend, served natively on the cpu
 * backend by lib/backend when the addon is built) and their gradient. Runs once, when this module
 * loads; a second load finds them registered and changes nothing.
 */
function registerDdtbFakeQuantKernels(): void {
  registerCompositeKernel(DdtbFakeQuant, fakeQuantComposite);
  registerCompositeKernel(DdtbFakeQuantGrad, fakeQuantGradComposite);
  if (!tf.getGradient(DdtbFakeQuant)) tf.registerGradient(fakeQuantGradConfig);
}

registerDdtbFakeQuantKernels();

/**
 * THE DDTB fake quantization (spec 2.2-2.4); every DDTB activation quantization goes through it.
 * x: float32, NHWC [N,H,W,C] (any shape with scalar bounds). upper/lower: scalars or [1], or
 * per-sample [N,1,1,1] (dynamic bounds u_i = beta_u,i * u). Returns x^, the shape of x.
 * Gradients to x, upper and lower as in the file header (one registered gradient, written by hand:
 * tfjs's maximum/minimum/clipByValue gradients cannot express the tie rule). It runs the kernel
 * `DdtbFakeQuant`, on whatever backend is active (fused native code on the cpu backend when built).
 */
export function ddtbFakeQuant(x: tf.Tensor, upper: tf.Tensor, lower: tf.Tensor, bits: number): tf.Tensor {
  checkBounds(x, upper, lower, bits);
  const attrs: DdtbFakeQuantAttrs = { bits };
  return tf.engine().runKernel(DdtbFakeQuant, { x, upper, lower }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Configuration of one DDTB activation quantizer. */
export interface DdtbActConfig {
  /** k, the activation bit width. */
  readonly bits: number;
  /** M: calibration sets u = P_M, l = P_(100-M) of the first training batch (99 EDSR/SRResNet, 95 RDN). */
  readonly percentile: number;
  /** When to calibrate (default `two-bit-only`, the official behaviour). */
  readonly calibration?: CalibrationPolicy;
  /**
   * The gate design (`officialGate`, or your own), or null for the no-gate DDTB variant (static
   * dual trainable bounds only, an ablation; such a quantizer can never be dynamic and has no
   * `atten_c` entries in its state dict).
   */
  readonly gate: GateFactory | null;
  /** Gradient mode handed to the gate (default `official`). */
  readonly gateGradient?: GateGradientMode;
}

/** Initial bounds of every DDTB quantizer (spec 2.1), on the 0..255 activation scale. */
export const DDTB_INITIAL_UPPER = 10;
export const DDTB_INITIAL_LOWER = -10;

/**
 * A DDTB activation quantizer (class `DDTB_quant_act_asym_dynamic_quantized`, spec 2).
 *
 * State (official names): parameters `alpha_upper` (u), `alpha_lower` (l), shape [1], +10 / -10,
 * group `bound`; buffers `max_val`, `min_val` (calibration results) and `is_dynamic` (0/1), shape [1];
 * child `atten_c` (the gate), which exists in every quantizer but runs only when dynamic.
 *
 * Set from outside, by name:
 * - `mode`: `quantize` (default) or `float` (statistics mode: x passes unchanged, the batch max and
 *   min are recorded in `statistics`; spec 2.5);
 * - `isDynamic`: the `is_dynamic` flag (spec 4 selects the layers);
 * - `useDynamicBounds`: for a dynamic layer, true (default; second stage and test time) uses the
 *   per-sample bounds beta_u,i u and beta_l,i l; false (first stage, spec 2.4) runs the gate, so its
 *   logits reach the regulariser, but quantizes with the static u, l;
 * - `train()` / `eval()`: calibration happens only in training mode, and the gate's BatchNorm uses
 *   batch statistics in training mode.
 *
 * Calibration (spec 2.6): at a training-mode `quantize` forward while u is still exactly 10 (the
 * official trigger), and only at 2 bits unless `calibration: 'every-bit-width'`: u = P_M(x),
 * l = P_(100-M)(x) over all elements of that batch's input (numpy linear percentiles in float64,
 * rounded to float32), also stored in max_val / min_val. P_M == P_(100-M) is an error naming the layer.
 *
 * Gate logits: after an `apply` that ran the gate, `lastGateLogits` is that gate's pre-sigmoid output
 * ([N,1,1,2] for the official gate); otherwise null. Ownership: it belongs to the same tfjs scope as
 * the output of that `apply` call (it is never kept or disposed by the quantizer). Read it inside the
 * same `tf.tidy` / `tf.variableGrads` closure as the forward pass (where a regulariser must be
 * computed anyway, for its gradient); outside any scope, dispose it together with the output.
 * Reading it after its scope ended throws.
 */
export class DdtbActQuantizer extends Module {
  /** Official path of this quantizer (`body.3.quant_act2`); errors name it. */
  readonly site: string;
  /** C, the input channels. */
  readonly channels: number;
  readonly bits: number;
  readonly percentile: number;
  readonly calibration: CalibrationPolicy;
  readonly alphaUpper: tf.Variable;
  readonly alphaLower: tf.Variable;
  readonly maxVal: tf.Variable;
  readonly minVal: tf.Variable;
  private readonly isDynamicFlag: tf.Variable;
  /** The gate (`atten_c`), or null for the no-gate variant. */
  readonly gate: GateModule | null;
  mode: QuantMode = 'quantize';
  useDynamicBounds = true;
  /** Batch max/min recorded in `float` mode. */
  readonly statistics = new BatchRangeRecorder();
  private logits: tf.Tensor | null = null;

  constructor(site: string, channels: number, config: DdtbActConfig, rng: RandomSource) {
    super();
    checkBits(config.bits, `${site}: DDTB quantizer`);
    if (!(config.percentile > 50 && config.percentile <= 100)) {
      throw new Error(`${site}: calibration percentile M must be in (50, 100], got ${config.percentile}`);
    }
    this.site = site;
    this.channels = channels;
    this.bits = config.bits;
    this.percentile = config.percentile;
    this.calibration = config.calibration ?? 'two-bit-only';
    this.alphaUpper = this.param('alpha_upper', tf.tensor1d([DDTB_INITIAL_UPPER]), { group: 'bound' });
    this.alphaLower = this.param('alpha_lower', tf.tensor1d([DDTB_INITIAL_LOWER]), { group: 'bound' });
    this.maxVal = this.buffer('max_val', tf.zeros([1]));
    this.minVal = this.buffer('min_val', tf.zeros([1]));
    this.isDynamicFlag = this.buffer('is_dynamic', tf.zeros([1]));
    this.gate = config.gate
      ? this.child('atten_c', config.gate({ channels, layer: site, gradient: config.gateGradient ?? 'official', rng }))
      : null;
  }

  /** The `is_dynamic` flag (read from the buffer, so a loaded checkpoint's flag counts). */
  get isDynamic(): boolean {
    return this.isDynamicFlag.dataSync()[0] !== 0;
  }

  set isDynamic(on: boolean) {
    if (on && !this.gate) throw new UserError(`${this.site}: a DDTB quantizer without a gate cannot be dynamic`);
    tf.tidy(() => this.isDynamicFlag.assign(tf.tensor1d([on ? 1 : 0])));
  }

  /** The static bounds u, l as numbers. */
  bounds(): { upper: number; lower: number } {
    return { upper: this.alphaUpper.dataSync()[0], lower: this.alphaLower.dataSync()[0] };
  }

  /** Trainable variables by optimiser group: the bounds (lr 1e-2 officially) and the gate's. */
  variables(): { bounds: tf.Variable[]; gate: tf.Variable[] } {
    return { bounds: [this.alphaUpper, this.alphaLower], gate: this.gate ? this.gate.namedParameters().map(([, p]) => p.variable) : [] };
  }

  /** Whether the calibration rule applies at this bit width. */
  get calibrates(): boolean {
    return this.calibration === 'every-bit-width' || this.bits === 2;
  }

  /** The gate's pre-sigmoid output of the last `apply`, or null; see the class comment for ownership. */
  get lastGateLogits(): tf.Tensor | null {
    if (this.logits && this.logits.isDisposed) {
      throw new UserError(`${this.site}: the gate logits of the last apply() were disposed with their tf.tidy scope; read them inside the scope of the forward pass`);
    }
    return this.logits;
  }

  /** x: [N,H,W,C] float32 (activation units) -> the same shape. See the class comment. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.channels) {
      throw new Error(`${this.site}: expected input [N,H,W,${this.channels}], got [${x.shape.join(',')}]`);
    }
    this.logits = null;
    if (this.mode === 'float') {
      this.statistics.record(x);
      return tf.clone(x);
    }
    if (this.training && this.calibrates && this.alphaUpper.dataSync()[0] === DDTB_INITIAL_UPPER) this.calibrate(x);
    const { upper, lower } = this.bounds();
    if (!(upper > lower)) throw new UserError(`${this.site}: upper bound ${upper} is not above lower bound ${lower}`);
    const dynamic = this.gate !== null && this.isDynamic;
    const [output, logits] = tf.tidy(() => {
      if (!dynamic) return [ddtbFakeQuant(x, this.alphaUpper, this.alphaLower, this.bits)];
      const g = this.gate!.scales(x);
      const u = this.useDynamicBounds ? tf.mul(g.upper, this.alphaUpper) : this.alphaUpper;
      const l = this.useDynamicBounds ? tf.mul(g.lower, this.alphaLower) : this.alphaLower;
      return [ddtbFakeQuant(x, u, l, this.bits), g.logits];
    });
    this.logits = logits ?? null;
    return output as tf.Tensor4D;
  }

  /** Sets u, l (and max_val, min_val) from the percentiles of x; spec 2.6. */
  private calibrate(x: tf.Tensor4D): void {
    const m = this.percentile;
    const [hi, lo] = percentiles(x.dataSync() as Float32Array, [m, 100 - m]).map(Math.fround);
    if (!(hi > lo)) {
      throw new UserError(`${this.site}: calibration failed: P${m} == P${100 - m} (${hi}) over the first training batch, so the bounds would be equal`);
    }
    tf.tidy(() => {
      this.alphaUpper.assign(tf.tensor1d([hi]));
      this.alphaLower.assign(tf.tensor1d([lo]));
      this.maxVal.assign(tf.tensor1d([hi]));
      this.minVal.assign(tf.tensor1d([lo]));
    });
  }
}
