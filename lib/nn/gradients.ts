/**
 * Reverse-mode gradients that release memory as the backward pass goes.
 *
 * `tf.variableGrads` keeps every tensor a recorded op saved for its gradient, and every gradient it
 * computes, until the whole backward pass ends: for an EDSR training step that is all the forward
 * activations plus all their gradients at once (about 2 GB for EDSR-baseline, batch 16 of 48x48, x4).
 * `variableGrads` here computes the same gradients, op by op in the same reverse order with the same
 * gradient functions and the same accumulation order (so the results are bit-identical), and frees
 *
 *   - an op's saved tensors as soon as its gradient has been computed,
 *   - the gradient flowing into an op's outputs once that op has propagated it to its inputs, and
 *   - at once, the tensors saved by ops whose gradient reads only their shapes (`SHAPE_ONLY_GRADIENTS`:
 *     an Add saves both summands, a Reshape its input, only to know their shapes),
 *
 * so that at any moment only the activations still ahead of the backward pass and the gradients at
 * its frontier are alive, as in PyTorch's autograd.
 *
 * It reads the tape tfjs's engine records (`startTape`, `endTape`, `state.activeTape`): an
 * engine-internal interface of the pinned tfjs version (4.x), checked by `tapeInterface` before use.
 * Inside another gradient computation (higher-order gradients), or when that interface is missing,
 * it defers to `tf.variableGrads`.
 */
import * as tf from '@tensorflow/tfjs';

/** One recorded op of tfjs's tape, as far as the backward pass needs it. */
interface TapeNode {
  readonly id: number;
  readonly kernelName: string;
  inputs: Record<string, tf.Tensor>;
  readonly outputs: tf.Tensor[];
  readonly gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
  readonly saved?: tf.Tensor[];
}

/**
 * Kernels whose registered tfjs gradient reads nothing but the `shape` of the tensors it saved (read
 * in tfjs-core 4.22's gradients/<Kernel>_grad.js). Their saved tensors are released as soon as they
 * are recorded; a disposed tensor keeps its shape, and a gradient that read its values would throw
 * "Tensor is disposed" rather than compute something else.
 */
export const SHAPE_ONLY_GRADIENTS: ReadonlySet<string> = new Set(['Add', 'Sub', 'Reshape', 'Sum', 'Mean', 'Concat', 'Slice']);

/** The parts of tfjs's engine this module drives. */
interface EngineTape {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  addTapeNode(...args: unknown[]): void;
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T;
}

/** The engine, when it has the tape interface this module relies on; null otherwise. */
function tapeInterface(): EngineTape | null {
  const engine = tf.engine() as unknown as Partial<EngineTape>;
  const ok = typeof engine.startTape === 'function' && typeof engine.endTape === 'function' && typeof engine.addTapeNode === 'function' &&
    typeof engine.scopedRun === 'function' && engine.state !== undefined && typeof engine.state.gradientDepth === 'number';
  return ok ? (engine as EngineTape) : null;
}

/**
 * The ops of `tape` that depend on one of `xs` and lead to `y`, each with its inputs pruned to those
 * that depend on `xs` (the only ones a gradient is needed for), in recording order.
 */
export function opsFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromXs = new Set<number>(xs.map((x) => x.id));
  const dependsOnXs = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromXs.has(t.id))) {
      dependsOnXs.add(node.id);
      for (const o of node.outputs) fromXs.add(o.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const leadsToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      leadsToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  const ops: TapeNode[] = [];
  for (const node of tape) {
    if (!dependsOnXs.has(node.id) || !leadsToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromXs.has(t.id)) inputs[name] = t;
    ops.push({ ...node, inputs });
  }
  return ops;
}

/**
 * Backward pass over `ops` (from `opsFromXsToY`), freeing as it goes. `grads` maps tensor id to the
 * gradient reaching it and starts with the seed for y; on return it holds the gradients of the
 * inputs that no op produced (the xs among them).
 */
function backward(engine: EngineTape, ops: readonly TapeNode[], grads: Map<number, tf.Tensor>): void {
  // A gradient object can sit under two ids when a gradient function hands dy through unchanged.
  const holders = (t: tf.Tensor) => { let n = 0; for (const g of grads.values()) if (g === t) n++; return n; };
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i];
    if (op.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${op.kernelName}.`);
    const dys = op.outputs.map((o) => grads.get(o.id) ?? null);
    const inputGrads = op.gradient(dys);
    for (const [name, x] of Object.entries(op.inputs)) {
      if (!(name in inputGrads)) {
        throw new Error(`Cannot backprop through input ${name} of ${op.kernelName}. Available gradients: ${Object.keys(inputGrads)}.`);
      }
      const dx = engine.tidy(() => inputGrads[name]());
      if (dx.dtype !== 'float32') {
        throw new Error(`The gradient of input '${name}' of ${op.kernelName} must be float32, but is ${dx.dtype}`);
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(`The gradient of input '${name}' of ${op.kernelName} has shape [${dx.shape}], its input [${x.shape}]`);
      }
      const previous = grads.get(x.id);
      if (previous === undefined) {
        grads.set(x.id, dx);
      } else {
        grads.set(x.id, tf.add(previous, dx));
        if (holders(previous) === 0) previous.dispose();
        if (holders(dx) === 0) dx.dispose();
      }
    }
    // This op's outputs are behind the backward pass now: nothing reads their gradients again.
    for (const o of op.outputs) {
      const dy = grads.get(o.id);
      if (dy === undefined) continue;
      grads.delete(o.id);
      if (holders(dy) === 0) dy.dispose();
    }
    for (const t of op.saved ?? []) t.dispose();
  }
}

/** Runs `f` with the tape on, releasing at once what shape-only gradients saved. */
function recordForward(engine: EngineTape, f: () => tf.Scalar): tf.Scalar {
  const record = engine.addTapeNode;
  engine.addTapeNode = function (this: EngineTape, ...args: unknown[]) {
    record.apply(this, args);
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    if (node && SHAPE_ONLY_GRADIENTS.has(node.kernelName)) for (const t of node.saved ?? []) t.dispose();
  };
  try {
    return engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f));
  } finally {
    engine.addTapeNode = record;
  }
}

/**
 * The gradients of the scalar `f()` with respect to `varList` (default: every trainable variable),
 * as `tf.variableGrads` returns them: `value` is f's result, `grads` maps each variable's name to its
 * gradient; variables f does not depend on are left out, non-trainable ones in `varList` map to null.
 */
export function variableGrads(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tapeInterface();
  if (engine === null || engine.state.gradientDepth > 0) return tf.variableGrads(f, varList);
  const specified = varList !== undefined;
  const all = specified ? varList : Object.values((tf.engine() as unknown as { registeredVariables: Record<string, tf.Variable> }).registeredVariables);
  const nonTrainable = specified ? all.filter((v) => !v.trainable) : [];
  const xs = all.filter((v) => v.trainable);
  if (xs.length === 0) throw new Error(`variableGrads: none of the ${all.length} variables is trainable`);

  const y = recordForward(engine, f);
  if (!(y instanceof tf.Tensor)) throw new Error('variableGrads: f() must return a tensor');
  const tape = engine.state.activeTape ?? [];
  try {
    if (y.rank !== 0) throw new Error(`variableGrads: f() must return a scalar, but returned a rank-${y.rank} tensor`);
    const ops = opsFromXsToY(tape, xs, y);
    const found = engine.tidy('backward', () => {
      const grads = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
      backward(engine, ops, grads);
      const named: tf.NamedTensorMap = {};
      for (const x of xs) {
        const g = grads.get(x.id);
        if (g !== undefined) named[x.name] = g;
      }
      return named;
    });
    if (Object.keys(found).length === 0) {
      throw new Error('variableGrads: no variable is connected to the result of f(); make sure the ops that use them run inside f');
    }
    const grads: tf.NamedTensorMap = { ...found };
    for (const v of nonTrainable) (grads as Record<string, tf.Tensor | null>)[v.name] = null;
    return { value: y, grads };
  } catch (err) {
    y.dispose();
    throw err;
  } finally {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
  }
}
