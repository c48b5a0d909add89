/**
 * The DDTB training schedule as data (spec 7.2, 3.3, 4), and the pure functions that read it.
 * Epochs are counted from 1, as in the official code:
 *
 *   epochs 1..S            'statistics'   FP forward in eval mode, no updates (the LR schedule still steps)
 *   epochs S+1..T          'first-stage'  static bounds; dynamic layers' gates run, pulled to identity by
 *                                         the gate regulariser (weight 1)
 *   epochs T+1..epochs     'second-stage' dynamic bounds on the selected layers, no regulariser
 *
 * The official run: 60 epochs of 1000 iterations, S = 1, T = 5, StepLR(step 10, gamma 0.5) stepped at
 * the end of every epoch including the statistics epoch, so epochs 1-10 train at 1e-4 (bounds 1e-2),
 * 11-20 at 5e-5, ..., 51-60 at 3.125e-6.
 */
import { UserError } from '../errors';

/** A training schedule (plain data; stored with the run config and checkpoints). */
export interface TrainSchedule {
  /** Total epochs, statistics epochs included. */
  readonly epochs: number;
  /** Optimiser iterations (batches) per epoch. */
  readonly iterationsPerEpoch: number;
  /** Leading statistics epochs (official: 1; 0 for methods without a statistics pass). */
  readonly statisticsEpochs: number;
  /**
   * Static bounds with the gate regulariser: epochs fromEpoch..toEpoch inclusive (official 2..5).
   * fromEpoch must be statisticsEpochs + 1; toEpoch = fromEpoch - 1 makes the stage empty.
   */
  readonly firstStage: { readonly fromEpoch: number; readonly toEpoch: number; readonly regularizerWeight: number };
  /** Dynamic bounds from this epoch to the end (official 6); must be firstStage.toEpoch + 1. */
  readonly secondStage: { readonly fromEpoch: number };
  /** StepLR: the learning rates are multiplied by gamma after every `every` epochs. */
  readonly learningRateStep: { readonly every: number; readonly gamma: number };
}

export type TrainPhase = 'statistics' | 'first-stage' | 'second-stage';

/** What the trainer does in one epoch. */
export interface EpochPlan {
  readonly epoch: number;
  readonly phase: TrainPhase;
  /** Multiplies every group's base learning rate (1 in the first `every` epochs). */
  readonly learningRateFactor: number;
  /** Weight of the gate-logit regulariser (0 outside the first stage). */
  readonly regularizerWeight: number;
  /** Whether the selected layers use their gates' dynamic bounds. */
  readonly dynamicBounds: boolean;
}

/** The official recipe's schedule (spec 7.2). */
export const officialSchedule: TrainSchedule = Object.freeze({
  epochs: 60,
  iterationsPerEpoch: 1000,
  statisticsEpochs: 1,
  firstStage: Object.freeze({ fromEpoch: 2, toEpoch: 5, regularizerWeight: 1 }),
  secondStage: Object.freeze({ fromEpoch: 6 }),
  learningRateStep: Object.freeze({ every: 10, gamma: 0.5 }),
});

function checkEpoch(epoch: number, what: string): void {
  if (!Number.isInteger(epoch) || epoch < 1) throw new Error(`${what}: epoch must be an integer >= 1 (epochs count from 1), got ${epoch}`);
}

function checkStep(stepSize: number, gamma: number, what: string): void {
  if (!Number.isInteger(stepSize) || stepSize < 1) throw new Error(`${what}: step size must be an integer >= 1, got ${stepSize}`);
  if (!Number.isFinite(gamma) || gamma <= 0) throw new Error(`${what}: gamma must be a finite number > 0, got ${gamma}`);
}

/**
 * StepLR's factor during `epoch` (from 1) when the scheduler steps at the end of every epoch:
 * gamma^floor((epoch - 1) / stepSize). Computed as PyTorch's chained form (1 * gamma * gamma ...).
 * Example: stepLrFactor(11, 10, 0.5) = 0.5.
 */
export function stepLrFactor(epoch: number, stepSize: number, gamma: number): number {
  return stepLrRate(1, epoch, stepSize, gamma);
}

/**
 * The learning rate StepLR gives a group with base rate `baseRate` during `epoch`, multiplied out as
 * PyTorch's chainable StepLR does (`lr * gamma` at each decay), so it equals torch's group 'lr' bit
 * for bit for any gamma (for gamma a power of two it also equals baseRate * stepLrFactor).
 */
export function stepLrRate(baseRate: number, epoch: number, stepSize: number, gamma: number): number {
  checkEpoch(epoch, 'stepLrRate');
  checkStep(stepSize, gamma, 'stepLrRate');
  let rate = baseRate;
  for (let k = Math.floor((epoch - 1) / stepSize); k > 0; k--) rate *= gamma;
  return rate;
}

/** Throws a UserError (one line, naming the field) unless the schedule is consistent. */
export function validateSchedule(s: TrainSchedule): void {
  const positiveInt = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new UserError(`schedule.${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt(s.epochs, 'epochs', 1);
  positiveInt(s.iterationsPerEpoch, 'iterationsPerEpoch', 1);
  positiveInt(s.statisticsEpochs, 'statisticsEpochs', 0);
  positiveInt(s.firstStage.fromEpoch, 'firstStage.fromEpoch', 1);
  positiveInt(s.firstStage.toEpoch, 'firstStage.toEpoch', 0);
  positiveInt(s.secondStage.fromEpoch, 'secondStage.fromEpoch', 1);
  if (s.firstStage.fromEpoch !== s.statisticsEpochs + 1) {
    throw new UserError(`schedule.firstStage.fromEpoch must follow the statistics epochs (${s.statisticsEpochs + 1}), got ${s.firstStage.fromEpoch}`);
  }
  if (s.firstStage.toEpoch < s.firstStage.fromEpoch - 1) {
    throw new UserError(`schedule.firstStage.toEpoch must be >= fromEpoch - 1 (${s.firstStage.fromEpoch - 1}: empty stage), got ${s.firstStage.toEpoch}`);
  }
  if (s.secondStage.fromEpoch !== s.firstStage.toEpoch + 1) {
    throw new UserError(`schedule.secondStage.fromEpoch must follow the first stage (${s.firstStage.toEpoch + 1}), got ${s.secondStage.fromEpoch}`);
  }
  if (s.secondStage.fromEpoch > s.epochs + 1) {
    throw new UserError(`schedule.secondStage.fromEpoch must be at most epochs + 1 (${s.epochs + 1}), got ${s.secondStage.fromEpoch}`);
  }
  if (!Number.isFinite(s.firstStage.regularizerWeight) || s.firstStage.regularizerWeight < 0) {
    throw new UserError(`schedule.firstStage.regularizerWeight must be a finite number >= 0, got ${s.firstStage.regularizerWeight}`);
  }
  const { every, gamma } = s.learningRateStep;
  if (!Number.isInteger(every) || every < 1) throw new UserError(`schedule.learningRateStep.every must be an integer >= 1, got ${every}`);
  if (!Number.isFinite(gamma) || gamma <= 0) throw new UserError(`schedule.learningRateStep.gamma must be a finite number > 0, got ${gamma}`);
}

/** The plan for `epoch` (from 1 to schedule.epochs). */
export function phaseAt(schedule: TrainSchedule, epoch: number): EpochPlan {
  validateSchedule(schedule);
  checkEpoch(epoch, 'phaseAt');
  if (epoch > schedule.epochs) throw new Error(`phaseAt: epoch ${epoch} is past the schedule's ${schedule.epochs} epochs`);
  const learningRateFactor = stepLrFactor(epoch, schedule.learningRateStep.every, schedule.learningRateStep.gamma);
  if (epoch <= schedule.statisticsEpochs) {
    return { epoch, phase: 'statistics', learningRateFactor, regularizerWeight: 0, dynamicBounds: false };
  }
  if (epoch <= schedule.firstStage.toEpoch) {
    return { epoch, phase: 'first-stage', learningRateFactor, regularizerWeight: schedule.firstStage.regularizerWeight, dynamicBounds: false };
  }
  return { epoch, phase: 'second-stage', learningRateFactor, regularizerWeight: 0, dynamicBounds: true };
}

/** Total optimiser-loop iterations (statistics epochs included: they also run iterationsPerEpoch batches). */
export function totalIterations(schedule: TrainSchedule): number {
  validateSchedule(schedule);
  return schedule.epochs * schedule.iterationsPerEpoch;
}

/**
 * Where a global iteration index (0-based over the whole run) falls: its epoch (from 1) and its
 * index within that epoch (0-based).
 */
export function epochOfIteration(schedule: TrainSchedule, iteration: number): { epoch: number; iterationInEpoch: number } {
  const total = totalIterations(schedule);
  if (!Number.isInteger(iteration) || iteration < 0 || iteration >= total) {
    throw new Error(`epochOfIteration: iteration must be an integer in [0, ${total}), got ${iteration}`);
  }
  return { epoch: Math.floor(iteration / schedule.iterationsPerEpoch) + 1, iterationInEpoch: iteration % schedule.iterationsPerEpoch };
}
