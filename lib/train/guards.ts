/**
 * Failure checks of a training step. A NaN or Inf loss, or a bound pair with u <= l, stops the run
 * with a message naming the iteration and the layer; the caller keeps the last good checkpoint and
 * exits non-zero. Nothing here waits for input (the official code drops into a debugger).
 */
import { UserError } from '../errors';

export class TrainingFailure extends UserError {
  constructor(message: string) {
    super(message, 3);
    this.name = 'TrainingFailure';
  }
}

/** Throws a TrainingFailure when a loss term is not finite. */
export function checkLoss(iteration: number, terms: Readonly<Record<string, number>>, lastFinite: number | null): void {
  for (const [name, value] of Object.entries(terms)) {
    if (!Number.isFinite(value)) {
      throw new TrainingFailure(`iteration ${iteration}: loss term ${name} is ${value} (last finite loss ${lastFinite ?? 'none'}); stopped, the last checkpoint is kept`);
    }
  }
}

/** Throws a TrainingFailure naming the first quantizer whose bounds are not finite or not ordered. */
export function checkBounds(iteration: number, bounds: Readonly<Record<string, readonly [number, number]>>): void {
  for (const [layer, [u, l]] of Object.entries(bounds)) {
    if (!Number.isFinite(u) || !Number.isFinite(l) || !(u > l)) {
      throw new TrainingFailure(`iteration ${iteration}: ${layer}: bounds u = ${u}, l = ${l} are not a valid range (need u > l, both finite); stopped, the last checkpoint is kept`);
    }
  }
}
