/**
 * A small module system for models: named parameters, buffers and child modules, train/eval mode,
 * and a state dict under the official (PyTorch) names.
 *
 * - Names: a state-dict name (`body.3.quant_act2.alpha_upper`) is not a tfjs variable name. tfjs
 *   refuses a second live variable with the same name, so every variable is named
 *   `m<uid>/<local name>` with a process-wide counter: a teacher and a student with the same official
 *   names live side by side, and re-running a notebook cell that builds a model works.
 * - Layout: inside, activations are NHWC and conv filters HWIO. The state dict uses PyTorch's layout
 *   (OIHW for conv filters); the conversion happens only in `stateDict` / `loadStateDict`.
 * - Order: `stateDict()` lists entries in PyTorch's order: a module's own parameters, then its own
 *   buffers, then each child in registration order. Register children in forward order.
 * - `alias(name, module)` makes a module appear under a second name in the state dict only (the
 *   official DDTB EDSR holds `quant_act2` both as `body.i.quant_act2` and `body.i.body.2`).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';

/** Which optimiser group a parameter joins: DDTB trains the bounds at a higher learning rate. */
export type ParamGroup = 'bound' | 'base';
/** `conv`: HWIO inside, OIHW in the state dict. `plain`: the same shape in both. */
export type Layout = 'plain' | 'conv';

export interface Parameter {
  readonly variable: tf.Variable;
  readonly group: ParamGroup;
  readonly layout: Layout;
}

/** One state-dict entry, in the official layout, on the host. */
export interface StateEntry {
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int64';
  readonly data: Float32Array | BigInt64Array;
}
export type StateDict = Map<string, StateEntry>;

/** An integer state (BatchNorm's `num_batches_tracked`), kept in JS, saved as int64. */
export interface Counter { value: number }

type Slot =
  | { kind: 'param'; p: Parameter }
  | { kind: 'buffer'; variable: tf.Variable; layout: Layout }
  | { kind: 'counter'; counter: Counter };

let nextUid = 0;

/** HWIO -> OIHW (checkpoint boundary only). */
function toOfficialLayout(t: tf.Tensor, layout: Layout): tf.Tensor {
  return layout === 'conv' && t.rank === 4 ? tf.transpose(t, [3, 2, 0, 1]) : t.clone();
}

/** OIHW -> HWIO (checkpoint boundary only). */
function fromOfficialLayout(t: tf.Tensor, layout: Layout): tf.Tensor {
  return layout === 'conv' && t.rank === 4 ? tf.transpose(t, [2, 3, 1, 0]) : t.clone();
}

/** The shape a tensor has in the official layout. */
export function officialShape(shape: readonly number[], layout: Layout): number[] {
  return layout === 'conv' && shape.length === 4 ? [shape[3], shape[2], shape[0], shape[1]] : [...shape];
}

export abstract class Module {
  /** Train mode (BatchNorm batch statistics, calibration) vs eval mode. Set with train()/eval(). */
  training = true;
  readonly uid = nextUid++;
  private readonly slots = new Map<string, Slot>();
  private readonly children = new Map<string, Module>();
  /** Children and aliases, in declaration order: the state dict walks this. */
  private readonly declared: Array<[string, Module]> = [];
  private disposed = false;

  /**
   * Registers a trainable parameter; returns the variable the forward pass reads. Takes ownership of
   * `init` (disposed here: a tf.variable keeps its own reference to the data).
   */
  protected param(name: string, init: tf.Tensor, opts: { group?: ParamGroup; layout?: Layout } = {}): tf.Variable {
    const variable = tf.variable(init, true, this.variableName(name), 'float32');
    init.dispose();
    this.addSlot(name, { kind: 'param', p: { variable, group: opts.group ?? 'base', layout: opts.layout ?? 'plain' } });
    return variable;
  }

  /** Registers a non-trainable tensor state (running statistics, calibration results, flags); owns `init`. */
  protected buffer(name: string, init: tf.Tensor, layout: Layout = 'plain'): tf.Variable {
    const variable = tf.variable(init, false, this.variableName(name), 'float32');
    init.dispose();
    this.addSlot(name, { kind: 'buffer', variable, layout });
    return variable;
  }

  /** Registers an integer counter saved as an int64 scalar. */
  protected counter(name: string, initial = 0): Counter {
    const counter = { value: initial };
    this.addSlot(name, { kind: 'counter', counter });
    return counter;
  }

  /** Registers a child module under `name`; returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    if (this.children.has(name) || this.slots.has(name)) throw new Error(`module: duplicate name '${name}'`);
    this.children.set(name, module);
    this.declared.push([name, module]);
    return module;
  }

  /** Lists `module` under a second name in the state dict (parameters are still counted once). */
  protected alias(name: string, module: Module): void {
    if (this.children.has(name) || this.slots.has(name)) throw new Error(`module: duplicate name '${name}'`);
    this.declared.push([name, module]);
  }

  private addSlot(name: string, slot: Slot): void {
    if (this.slots.has(name) || this.children.has(name)) throw new Error(`module: duplicate name '${name}'`);
    this.slots.set(name, slot);
  }

  private variableName(name: string): string {
    return `m${this.uid}/${name}`;
  }

  /** Child modules in registration order (aliases excluded). */
  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  /** Every module below (and including) this one, depth first, with its dotted path. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, m] of this.children) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Trainable parameters with their official names, each once. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, slot] of m.slots) if (slot.kind === 'param') out.push([path ? `${path}.${name}` : name, slot.p]);
    }
    return out;
  }

  /** Sets train mode on this module and every child. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Entries of the official state dict, with the module that owns each, in PyTorch's order. */
  private stateSlots(prefix = ''): Array<[string, Slot]> {
    const out: Array<[string, Slot]> = [];
    const join = (a: string, b: string) => (a ? `${a}.${b}` : b);
    for (const [name, slot] of this.slots) out.push([join(prefix, name), slot]);
    // PyTorch walks _modules in insertion order, an alias included where it was declared.
    for (const [name, m] of this.declared) out.push(...m.stateSlots(join(prefix, name)));
    return out;
  }

  /** The official state dict: host copies of every parameter, buffer and counter. */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [name, slot] of this.stateSlots()) {
      if (slot.kind === 'counter') {
        sd.set(name, { shape: [], dtype: 'int64', data: BigInt64Array.of(BigInt(slot.counter.value)) });
        continue;
      }
      const v = slot.kind === 'param' ? slot.p.variable : slot.variable;
      const layout = slot.kind === 'param' ? slot.p.layout : slot.layout;
      const t = toOfficialLayout(v, layout);
      sd.set(name, { shape: t.shape, dtype: 'float32', data: t.dataSync() as Float32Array });
      t.dispose();
    }
    return sd;
  }

  /** Official names this module expects, with their official shapes. */
  expectedState(): Map<string, { shape: number[]; dtype: 'float32' | 'int64' }> {
    const out = new Map<string, { shape: number[]; dtype: 'float32' | 'int64' }>();
    for (const [name, slot] of this.stateSlots()) {
      if (slot.kind === 'counter') out.set(name, { shape: [], dtype: 'int64' });
      else {
        const v = slot.kind === 'param' ? slot.p.variable : slot.variable;
        out.set(name, { shape: officialShape(v.shape, slot.kind === 'param' ? slot.p.layout : slot.layout), dtype: 'float32' });
      }
    }
    return out;
  }

  /**
   * Loads official-layout tensors by name. With `strict` (default) every expected name must be
   * present and nothing else; with `strict: false` unexpected names are ignored; `allowMissing` names the
   * expected entries that may be absent (new quantizer state when FP weights initialise a quantized
   * model). Shape mismatches always
   * fail. The error lists every problem at once and names `source` (a file, usually).
   * A scalar may load into a [1] slot and back (the official loader reshapes max_val/min_val).
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean; source?: string; allowMissing?: (name: string) => boolean } = {}): void {
    const strict = opts.strict ?? true;
    const slots = this.stateSlots();
    const problems: string[] = [];
    const expected = new Set(slots.map(([n]) => n));
    const missing = slots.map(([n]) => n).filter((n) => !sd.has(n) && !(opts.allowMissing?.(n) ?? false));
    const unexpected = [...sd.keys()].filter((n) => !expected.has(n));
    if (missing.length) problems.push(`missing keys (${missing.length}): ${listNames(missing)}`);
    if (strict && unexpected.length) problems.push(`unexpected keys (${unexpected.length}): ${listNames(unexpected)}`);
    const mismatched: string[] = [];
    for (const [name, slot] of slots) {
      const entry = sd.get(name);
      if (!entry) continue;
      if (slot.kind === 'counter') continue;
      const v = slot.kind === 'param' ? slot.p.variable : slot.variable;
      const layout = slot.kind === 'param' ? slot.p.layout : slot.layout;
      const want = officialShape(v.shape, layout);
      if (!sameSize(want, entry.shape)) mismatched.push(`${name} (checkpoint [${entry.shape.join(',')}], model [${want.join(',')}])`);
    }
    if (mismatched.length) problems.push(`shape mismatches (${mismatched.length}): ${listNames(mismatched)}`);
    if (problems.length) throw new UserError(`${opts.source ?? 'state dict'}: does not fit the model: ${problems.join('; ')}`);
    for (const [name, slot] of slots) {
      const entry = sd.get(name);
      if (!entry) continue;
      if (slot.kind === 'counter') {
        slot.counter.value = Number(entry.data[0]);
        continue;
      }
      const v = slot.kind === 'param' ? slot.p.variable : slot.variable;
      const layout = slot.kind === 'param' ? slot.p.layout : slot.layout;
      const values = entry.dtype === 'int64' ? Float32Array.from(entry.data as BigInt64Array, Number) : (entry.data as Float32Array);
      tf.tidy(() => {
        const official = tf.tensor(values, officialShape(v.shape, layout), 'float32');
        v.assign(fromOfficialLayout(official, layout));
      });
    }
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.namedParameters().reduce((n, [, p]) => n + p.variable.size, 0);
  }

  /** Frees every variable of this module and its children. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const slot of this.slots.values()) {
      if (slot.kind === 'param') slot.p.variable.dispose();
      else if (slot.kind === 'buffer') slot.variable.dispose();
    }
    for (const m of this.children.values()) m.dispose();
  }
}

function sameSize(a: readonly number[], b: readonly number[]): boolean {
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  if (a.length === b.length) return a.every((d, i) => d === b[i]);
  // [] and [1] hold the same single value (0-d calibration results vs [1] buffers).
  return size(a) === 1 && size(b) === 1;
}

function listNames(names: string[], max = 8): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, ... (${names.length - max} more)`;
}
