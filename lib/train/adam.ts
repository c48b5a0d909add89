/**
 * Adam with PyTorch's semantics (torch.optim.Adam 1.13, the single-tensor CPU path; amsgrad, weight
 * decay and maximize off), not tfjs's AdamOptimizer: that one keys its moments by position in the
 * gradient map, keeps one global step for the bias correction, defaults epsilon to 1e-7 and has no
 * learning-rate hook. Here (spec 2.7, 7.2):
 * - state is per parameter and keyed by the parameter's official state-dict name;
 * - a parameter without a gradient in a step is skipped: its value, moments and own step count stay;
 * - parameter groups have their own learning rate (DDTB: bounds 1e-2, everything else 1e-4), which a
 *   schedule sets between steps (`setLearningRates`);
 * - `state()` / `loadState()` give a bit-identical continuation.
 *
 * Numerics. For each parameter p with gradient g, in float32 except where float64 is said:
 *   step += 1
 *   bc1 = 1 - beta1^step, bc2 = 1 - beta2^step, stepSize = lr / bc1      (float64, Python floats)
 *   m = fma(float32(1 - beta1), g, m * float32(beta1))
 *   v = fma(float32(1 - beta2) * g, g, v * float32(beta2))
 *   denom = sqrt(v) / float32(sqrt(bc2)) + float32(eps)
 *   p = p + (float32(-stepSize) * m) / denom
 * which is PyTorch's `exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)`,
 * `exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)`,
 * `denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)` and
 * `param.addcdiv_(exp_avg, denom, value=-step_size)` as its CPU kernels compute them when built for
 * AVX2/AVX-512 with FMA: `add` with alpha is a fused multiply-add (`vec::fmadd`, and the contracted
 * `self + alpha * other` in the scalar tail), `addcmul`'s `self + value * t1 * t2` is contracted to
 * fma(value * t1, t2, self) by the compiler (the same contraction lib/nn/batchnorm.ts matches in
 * PyTorch's batch-norm kernel), scalars are cast to float32 before the kernel runs, and `div` by a
 * Python float is a true float32 division. The shared five-step trace
 * (../shared/fixtures/pytorch-adam) is matched bit for bit; it is also matched by the unfused order,
 * so the fma choice rests on the kernel sources, not on that trace.
 *
 * beta^step uses Math.pow. It differs from glibc's pow (what Python's `**` calls) in the last bit for
 * some steps, but checked against Python for steps 1..60000, betas 0.9 / 0.999 and learning rates
 * 1e-4 and 1e-2 times 0.5^0..6, no difference reaches float32(-stepSize) or float32(sqrt(bc2)).
 *
 * The update runs on the host over the float32 values (one pass per parameter; about as long as a few
 * elementwise tfjs ops) because tfjs has no fused multiply-add; each new value is written back with
 * `Variable.assign` inside `tf.tidy`. The moments are host Float32Arrays, so the optimiser holds no
 * tensors and the tensor count stays flat.
 *
 * Example:
 *   const adam = new Adam([
 *     { name: 'bound', learningRate: 1e-2, params: [['body.0.quant_act1.alpha_upper', u], ...] },
 *     { name: 'base', learningRate: 1e-4, params: [['body.0.body.0.weight', w], ...] },
 *   ]);
 *   const { value, grads } = variableGrads(lossFn, adam.variables());   // lib/nn/gradients (tf.variableGrads works too)
 *   adam.step(grads);                      // grads keyed by tfjs variable name
 *   tf.dispose([value, grads]);
 *   adam.setLearningRates(0.5);            // end of an epoch: every group at half its base rate
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { fmaF32 } from '../nn/batchnorm';

const f = Math.fround;

/** One parameter group, as PyTorch's `param_groups` entry. */
export interface AdamParamGroup {
  /** Group name, unique (e.g. 'bound', 'base'); `setLearningRates` and `state()` use it. */
  readonly name: string;
  /** The group's base learning rate (PyTorch's `initial_lr`); schedule factors multiply it. */
  readonly learningRate: number;
  /** [official state-dict name, variable] pairs. Names and variables are unique across groups. */
  readonly params: ReadonlyArray<readonly [string, tf.Variable]>;
}

export interface AdamOptions {
  /** Decay rates of the first and second moments (PyTorch default (0.9, 0.999)). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator (PyTorch default 1e-8; tfjs's 1e-7 is not used). */
  readonly eps?: number;
}

/** One parameter's serialised state (PyTorch's `state[p]`, plus the name). */
export interface AdamParamState {
  readonly name: string;
  /** This parameter's own number of updates (0: never had a gradient). */
  readonly step: number;
  /** First moment, float32, row-major like the parameter. */
  readonly exp_avg: Float32Array;
  /** Second moment, float32, row-major like the parameter. */
  readonly exp_avg_sq: Float32Array;
}

export interface AdamGroupState {
  readonly name: string;
  /** Learning rate in use when the state was taken. */
  readonly learningRate: number;
  /** Base learning rate (the constructor's). */
  readonly initialLearningRate: number;
  readonly params: readonly AdamParamState[];
}

/** Everything needed to continue bit-identically (copies; plain data with Float32Arrays). */
export interface AdamState {
  readonly format: 'ddtb-adam';
  readonly version: 1;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly groups: readonly AdamGroupState[];
}

interface ParamSlot {
  readonly name: string;
  /** Index of its group in `groups`. */
  readonly group: number;
  readonly variable: tf.Variable;
  readonly size: number;
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

interface GroupSlot {
  readonly name: string;
  readonly initialLearningRate: number;
  learningRate: number;
  readonly params: ParamSlot[];
}

function checkRate(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) throw new Error(`Adam: ${what} must be a finite number >= 0, got ${value}`);
}

export class Adam {
  readonly betas: readonly [number, number];
  readonly eps: number;
  private readonly groups: GroupSlot[];
  /** tfjs variable name -> slot. */
  private readonly byVariable = new Map<string, ParamSlot>();
  private disposed = false;

  constructor(groups: readonly AdamParamGroup[], options: AdamOptions = {}) {
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    const eps = options.eps ?? 1e-8;
    for (const [i, b] of [beta1, beta2].entries()) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam: beta${i + 1} must be in [0, 1), got ${b}`);
    }
    checkRate(eps, 'eps');
    this.betas = [beta1, beta2];
    this.eps = eps;
    const groupNames = new Set<string>();
    const paramNames = new Set<string>();
    this.groups = groups.map((g, groupIndex) => {
      if (groupNames.has(g.name)) throw new Error(`Adam: parameter group '${g.name}' given twice`);
      groupNames.add(g.name);
      checkRate(g.learningRate, `learning rate of group '${g.name}'`);
      const params = g.params.map(([name, variable]): ParamSlot => {
        if (paramNames.has(name)) throw new Error(`Adam: parameter '${name}' is in more than one place`);
        if (this.byVariable.has(variable.name)) throw new Error(`Adam: variable '${variable.name}' (${name}) is in more than one place`);
        if (variable.dtype !== 'float32') throw new Error(`Adam: parameter '${name}' is ${variable.dtype}, not float32`);
        paramNames.add(name);
        const size = variable.size;
        const slot: ParamSlot = { name, group: groupIndex, variable, size, step: 0, expAvg: new Float32Array(size), expAvgSq: new Float32Array(size) };
        this.byVariable.set(variable.name, slot);
        return slot;
      });
      return { name: g.name, initialLearningRate: g.learningRate, learningRate: g.learningRate, params };
    });
  }

  /** Every optimised variable, in group order (the varList for tf.variableGrads). */
  variables(): tf.Variable[] {
    return this.groups.flatMap((g) => g.params.map((p) => p.variable));
  }

  /** Parameter names per group, in order. */
  paramNames(): Record<string, string[]> {
    return Object.fromEntries(this.groups.map((g) => [g.name, g.params.map((p) => p.name)]));
  }

  /** Current learning rate of each group. */
  learningRates(): Record<string, number> {
    return Object.fromEntries(this.groups.map((g) => [g.name, g.learningRate]));
  }

  /** The number of updates parameter `name` has had (its own step count). */
  stepOf(name: string): number {
    return this.slotByName(name).step;
  }

  /**
   * The schedule hook. A number sets every group to factor x its base learning rate (StepLR's
   * gamma^k); a record sets the named groups to the given rates (others keep theirs).
   */
  setLearningRates(rates: number | Readonly<Record<string, number>>): void {
    if (typeof rates === 'number') {
      checkRate(rates, 'learning-rate factor');
      for (const g of this.groups) g.learningRate = g.initialLearningRate * rates;
      return;
    }
    for (const [name, rate] of Object.entries(rates)) {
      const g = this.groups.find((x) => x.name === name);
      if (!g) throw new Error(`Adam.setLearningRates: no parameter group '${name}' (groups: ${this.groups.map((x) => x.name).join(', ')})`);
      checkRate(rate, `learning rate of group '${name}'`);
      g.learningRate = rate;
    }
  }

  /**
   * One update. `grads` is keyed by tfjs variable name, as `tf.variableGrads(...).grads` is; a
   * parameter whose key is absent (or null) is skipped. Gradients are read, never disposed. A key that
   * names no optimised variable, or a gradient of another shape, is an error.
   */
  step(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    this.checkLive();
    const work: Array<[ParamSlot, tf.Tensor]> = [];
    for (const [key, grad] of Object.entries(grads)) {
      if (grad === null || grad === undefined) continue;
      const slot = this.byVariable.get(key);
      if (!slot) throw new Error(`Adam.step: gradient for variable '${key}', which is in no parameter group`);
      if (grad.size !== slot.size || grad.shape.join(',') !== slot.variable.shape.join(',')) {
        throw new Error(`Adam.step: gradient of ${slot.name} has shape [${grad.shape.join(',')}], the parameter [${slot.variable.shape.join(',')}]`);
      }
      work.push([slot, grad]);
    }
    const [beta1, beta2] = this.betas;
    for (const [slot, grad] of work) {
      const group = this.groups[slot.group];
      slot.step += 1;
      // Python floats (float64), as torch computes them.
      const biasCorrection1 = 1 - Math.pow(beta1, slot.step);
      const biasCorrection2 = 1 - Math.pow(beta2, slot.step);
      const stepSize = group.learningRate / biasCorrection1;
      const next = adamUpdate(
        slot.variable.dataSync() as Float32Array, grad.dataSync() as Float32Array, slot.expAvg, slot.expAvgSq,
        { beta1, beta2, eps: this.eps, negStepSize: -stepSize, biasCorrection2Sqrt: Math.sqrt(biasCorrection2) },
      );
      tf.tidy(() => slot.variable.assign(tf.tensor(next, slot.variable.shape, 'float32')));
    }
  }

  /** A copy of the whole state (plain data; Float32Array moments). */
  state(): AdamState {
    return {
      format: 'ddtb-adam', version: 1, betas: [this.betas[0], this.betas[1]], eps: this.eps,
      groups: this.groups.map((g) => ({
        name: g.name, learningRate: g.learningRate, initialLearningRate: g.initialLearningRate,
        params: g.params.map((p) => ({ name: p.name, step: p.step, exp_avg: p.expAvg.slice(), exp_avg_sq: p.expAvgSq.slice() })),
      })),
    };
  }

  /**
   * Restores `state()` output (copied in). The groups and parameters must be the same (names and
   * sizes), and betas and eps equal: a mismatch is a UserError naming the group or parameter.
   */
  loadState(state: AdamState): void {
    this.checkLive();
    const where = 'optimizer state';
    if (state.format !== 'ddtb-adam' || state.version !== 1) throw new UserError(`${where}: not a ddtb-adam version 1 state`);
    if (state.betas[0] !== this.betas[0] || state.betas[1] !== this.betas[1] || state.eps !== this.eps) {
      throw new UserError(`${where}: betas (${state.betas.join(', ')}) eps ${state.eps} differ from this optimizer's (${this.betas.join(', ')}) eps ${this.eps}`);
    }
    const names = (xs: readonly { name: string }[]) => xs.map((x) => x.name).join(', ');
    if (names(state.groups) !== names(this.groups)) {
      throw new UserError(`${where}: parameter groups [${names(state.groups)}], expected [${names(this.groups)}]`);
    }
    // Validate everything before changing anything.
    state.groups.forEach((gs, gi) => {
      const g = this.groups[gi];
      if (names(gs.params) !== names(g.params)) {
        const missing = g.params.find((p) => !gs.params.some((q) => q.name === p.name));
        const extra = gs.params.find((q) => !g.params.some((p) => p.name === q.name));
        const detail = missing ? `lacks ${missing.name}` : extra ? `has ${extra.name}, which the model lacks` : 'lists its parameters in another order';
        throw new UserError(`${where}: group '${g.name}' ${detail}`);
      }
      checkRate(gs.learningRate, `learning rate of group '${g.name}'`);
      if (gs.initialLearningRate !== g.initialLearningRate) {
        throw new UserError(`${where}: group '${g.name}' has base learning rate ${gs.initialLearningRate}, this optimizer ${g.initialLearningRate}`);
      }
      gs.params.forEach((ps, pi) => {
        const p = g.params[pi];
        if (ps.exp_avg.length !== p.size || ps.exp_avg_sq.length !== p.size) {
          throw new UserError(`${where}: ${p.name} has ${ps.exp_avg.length} values, the parameter ${p.size}`);
        }
        if (!Number.isInteger(ps.step) || ps.step < 0) throw new UserError(`${where}: ${p.name} has step ${ps.step}`);
      });
    });
    state.groups.forEach((gs, gi) => {
      const g = this.groups[gi];
      g.learningRate = gs.learningRate;
      gs.params.forEach((ps, pi) => {
        const p = g.params[pi];
        p.step = ps.step;
        p.expAvg = Float32Array.from(ps.exp_avg);
        p.expAvgSq = Float32Array.from(ps.exp_avg_sq);
      });
    });
  }

  /** Drops the state; the variables belong to the caller and are left alone. */
  dispose(): void {
    this.disposed = true;
    for (const g of this.groups) for (const p of g.params) { p.expAvg = new Float32Array(0); p.expAvgSq = new Float32Array(0); }
    this.byVariable.clear();
  }

  private slotByName(name: string): ParamSlot {
    for (const g of this.groups) for (const p of g.params) if (p.name === name) return p;
    throw new Error(`Adam: no parameter '${name}'`);
  }

  private checkLive(): void {
    if (this.disposed) throw new Error('Adam: used after dispose()');
  }
}

/** The float64 scalars of one parameter's update (Python floats in torch). */
export interface AdamScalars {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** -lr / (1 - beta1^step). */
  readonly negStepSize: number;
  /** sqrt(1 - beta2^step). */
  readonly biasCorrection2Sqrt: number;
}

/**
 * One Adam update of a float32 parameter in PyTorch's kernel order (see the module comment).
 * Updates `expAvg` and `expAvgSq` in place and returns the new parameter values (a new array);
 * `param` and `grad` are only read.
 */
export function adamUpdate(
  param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, s: AdamScalars,
): Float32Array {
  const beta1 = f(s.beta1);
  const beta2 = f(s.beta2);
  const oneMinusBeta1 = f(1 - s.beta1);
  const oneMinusBeta2 = f(1 - s.beta2);
  const eps = f(s.eps);
  const negStepSize = f(s.negStepSize);
  const bc2Sqrt = f(s.biasCorrection2Sqrt);
  const out = new Float32Array(param.length);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    const m = fmaF32(oneMinusBeta1, g, f(expAvg[i] * beta1));
    const v = fmaF32(f(oneMinusBeta2 * g), g, f(expAvgSq[i] * beta2));
    expAvg[i] = m;
    expAvgSq[i] = v;
    // float64 then float32 rounding of one +, *, / or sqrt of float32 values is correctly rounded.
    const denom = f(f(f(Math.sqrt(v)) / bc2Sqrt) + eps);
    out[i] = f(param[i] + f(f(negStepSize * m) / denom));
  }
  return out;
}
