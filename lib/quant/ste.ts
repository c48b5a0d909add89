/**
 * Gradient plumbing shared by the quantizers: the straight-through rounding and a detach.
 *
 * `roundSte` is the one straight-through rounding of the library: forward `tf.round` (round half to
 * even on the cpu backend, like `torch.round`), backward the identity (tf.round's own gradient is
 * zero). Spec section 1: "round ... with a straight-through estimator".
 *
 * `detach` is PyTorch's `.detach()`: the same values, cut from the gradient tape. tfjs has no
 * stop-gradient op, so the value is produced by a custom op that takes no tensor inputs: nothing
 * upstream of it is reachable from a loss through it, and variables that only feed a detached
 * tensor get no gradient at all (absent from `tf.variableGrads`' map, PyTorch's `grad is None`).
 * The copy is free on the cpu backend (tf.clone shares the data).
 */
import * as tf from '@tensorflow/tfjs';

type GradOp = (...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
};

const roundSteOp = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.round(x),
  gradFunc: (dy: tf.Tensor) => dy,
})) as GradOp);

/**
 * Round half to even with a straight-through gradient. Any shape.
 * Example: roundSte([0.5, 1.5, 2.5, -0.5]) = [0, 2, 2, -0]; d/dx = 1 everywhere.
 */
export function roundSte<T extends tf.Tensor>(x: T): T {
  return roundSteOp(x) as T;
}

/** The values of `t`, with no gradient path back to `t` (PyTorch `t.detach()`). */
export function detach<T extends tf.Tensor>(t: T): T {
  const op = tf.customGrad((() => ({ value: tf.clone(t), gradFunc: () => [] })) as GradOp);
  return op() as T;
}

/**
 * A straight-through quantizer: the value `forward(x)`, the gradient the identity (dy passes to x
 * unchanged). The weight quantizers with an identity gradient (spec 5.2, 5.3) and the `ste` gate
 * quantizers use it. `forward` must keep the shape of x.
 */
export function straightThrough<T extends tf.Tensor>(x: T, forward: (x: T) => tf.Tensor): T {
  const op = tf.customGrad(((xi: tf.Tensor) => ({ value: forward(xi as T), gradFunc: (dy: tf.Tensor) => dy })) as GradOp);
  return op(x) as T;
}
