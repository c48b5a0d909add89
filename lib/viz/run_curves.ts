/**
 * Curves from a training run's JSONL log (lib/train/run_log.ts) for the bound-learning notebook:
 * per quantizer, the bounds u, l after every optimisation step and their gradients, plus the
 * iterations where the schedule changes (spec 7.2, figure F-D).
 *
 * Iterations are the log's global 1-based counter (statistics-epoch batches included), so the
 * markers line up with the curves on one x axis.
 */
import { UserError } from '../errors';
import type { EpochRecord, IterationRecord, LogRecord } from '../train/run_log';

/** The bounds of one quantizer over the optimisation steps of a run. */
export interface BoundCurve {
  readonly layer: string;
  /** Global iteration of each step (training steps only; statistics batches have no bounds). */
  readonly iteration: number[];
  /** u after each step (PAMS: alpha). */
  readonly upper: number[];
  /** l after each step (PAMS: -alpha). */
  readonly lower: number[];
  /** dL/du of each step (before the update it drove). */
  readonly gradUpper: number[];
  /** dL/dl of each step. */
  readonly gradLower: number[];
}

/** Where the schedule turns, as global iterations (null when the run never got there). */
export interface StageMarkers {
  /** The first optimisation step: 2-bit bounds are calibrated in its forward pass (spec 2.6). */
  readonly calibration: number | null;
  /** The first step of the second stage, where the dynamic layers start using their gates. */
  readonly secondStage: number | null;
  /** The last iteration of every epoch, in order. */
  readonly epochEnds: number[];
}

/** The per-iteration records of a log, in order. */
export function iterationRecords(records: readonly LogRecord[]): IterationRecord[] {
  return records.filter((r): r is IterationRecord => r.kind === 'iteration');
}

/** The epoch summaries of a log, in order. */
export function epochRecords(records: readonly LogRecord[]): EpochRecord[] {
  return records.filter((r): r is EpochRecord => r.kind === 'epoch');
}

/** The quantizers whose bounds the log records, in the log's (forward) order. */
export function loggedLayers(records: readonly LogRecord[]): string[] {
  const first = iterationRecords(records).find((r) => Object.keys(r.bounds).length > 0);
  return first ? Object.keys(first.bounds) : [];
}

/** The calibration and second-stage iterations and the epoch ends of a run's log. */
export function stageMarkers(records: readonly LogRecord[]): StageMarkers {
  const steps = iterationRecords(records);
  const firstOf = (phase: string) => steps.find((r) => r.phase === phase)?.iteration ?? null;
  const training = steps.find((r) => r.phase !== 'statistics');
  return {
    calibration: training?.iteration ?? null,
    secondStage: firstOf('second-stage'),
    epochEnds: epochRecords(records).map((r) => r.iteration),
  };
}

/** u, l and their gradients for `layer` over every optimisation step. Throws naming an unlogged layer. */
export function boundCurve(records: readonly LogRecord[], layer: string): BoundCurve {
  const curve: BoundCurve = { layer, iteration: [], upper: [], lower: [], gradUpper: [], gradLower: [] };
  for (const r of iterationRecords(records)) {
    const b = r.bounds[layer];
    if (!b) continue;
    const g = r.boundGrads[layer] ?? [NaN, NaN];
    curve.iteration.push(r.iteration);
    curve.upper.push(b[0]);
    curve.lower.push(b[1]);
    curve.gradUpper.push(g[0]);
    curve.gradLower.push(g[1]);
  }
  if (curve.iteration.length === 0) {
    const known = loggedLayers(records);
    throw new UserError(`run log: no bounds for layer '${layer}' (logged: ${known.length ? `${known.slice(0, 4).join(', ')}${known.length > 4 ? ', ...' : ''}` : 'none'})`);
  }
  return curve;
}

/**
 * The trailing moving average of |values| over `window` points (fewer at the start):
 * out[i] = mean(|values[max(0, i-window+1) .. i]|). Gradients of a bound flip sign from step to
 * step, so their magnitude is what a plot can show.
 */
export function movingAbsMean(values: readonly number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1) throw new UserError(`movingAbsMean: window ${window} must be a positive integer`);
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += Math.abs(values[i]);
    if (i >= window) sum -= Math.abs(values[i - window]);
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}
