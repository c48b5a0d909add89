import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  TrainSchedule, officialSchedule, phaseAt, stepLrFactor, stepLrRate, validateSchedule, totalIterations, epochOfIteration,
} from '../../lib/train/schedule';
import { UserError } from '../../lib/errors';

test('official schedule: learning rates of epochs 1..60 as the spec 7.2 table', () => {
  // Spec 7.2: epochs 1-10 -> 1e-4 (bounds 1e-2), 11-20 -> 5e-5, 21-30 -> 2.5e-5, 31-40 -> 1.25e-5,
  // 41-50 -> 6.25e-6, 51-60 -> 3.125e-6.
  const table: Array<[number, number, number]> = [
    [1, 10, 1e-4], [11, 20, 5e-5], [21, 30, 2.5e-5], [31, 40, 1.25e-5], [41, 50, 6.25e-6], [51, 60, 3.125e-6],
  ];
  for (const [from, to, base] of table) {
    for (let epoch = from; epoch <= to; epoch++) {
      const plan = phaseAt(officialSchedule, epoch);
      assert.equal(plan.learningRateFactor, base / 1e-4, `factor at epoch ${epoch}`);
      assert.equal(1e-4 * plan.learningRateFactor, base, `base rate at epoch ${epoch}`);
      assert.equal(1e-2 * plan.learningRateFactor, base * 100, `bound rate at epoch ${epoch}`);
      assert.equal(stepLrRate(1e-4, epoch, 10, 0.5), base);
    }
  }
});

test('official schedule: statistics epoch 1, first stage 2-5 with the regulariser, dynamic bounds from 6', () => {
  const phases = Array.from({ length: 60 }, (_, i) => phaseAt(officialSchedule, i + 1));
  assert.deepEqual(phases[0], { epoch: 1, phase: 'statistics', learningRateFactor: 1, regularizerWeight: 0, dynamicBounds: false });
  for (const e of [2, 3, 4, 5]) {
    assert.deepEqual(phases[e - 1], { epoch: e, phase: 'first-stage', learningRateFactor: 1, regularizerWeight: 1, dynamicBounds: false });
  }
  assert.deepEqual(phases[5], { epoch: 6, phase: 'second-stage', learningRateFactor: 1, regularizerWeight: 0, dynamicBounds: true });
  assert.equal(phases.filter((p) => p.phase === 'second-stage').length, 55);
  assert.ok(phases.slice(5).every((p) => p.dynamicBounds && p.regularizerWeight === 0));
  assert.deepEqual(phases[59], { epoch: 60, phase: 'second-stage', learningRateFactor: 0.03125, regularizerWeight: 0, dynamicBounds: true });
  assert.equal(totalIterations(officialSchedule), 60000);
  assert.throws(() => phaseAt(officialSchedule, 61), /epoch 61 is past the schedule's 60 epochs/);
  assert.throws(() => phaseAt(officialSchedule, 0), /epochs count from 1/);
});

test('a scaled-down schedule: 6 epochs, stages 2-3 and 4+, halving every 2 epochs', () => {
  const quick: TrainSchedule = {
    epochs: 6, iterationsPerEpoch: 50, statisticsEpochs: 1,
    firstStage: { fromEpoch: 2, toEpoch: 3, regularizerWeight: 1 }, secondStage: { fromEpoch: 4 },
    learningRateStep: { every: 2, gamma: 0.5 },
  };
  const got = Array.from({ length: 6 }, (_, i) => phaseAt(quick, i + 1)).map((p) => [p.phase, p.learningRateFactor, p.regularizerWeight, p.dynamicBounds]);
  assert.deepEqual(got, [
    ['statistics', 1, 0, false],
    ['first-stage', 1, 1, false],
    ['first-stage', 0.5, 1, false],
    ['second-stage', 0.5, 0, true],
    ['second-stage', 0.25, 0, true],
    ['second-stage', 0.25, 0, true],
  ]);
  assert.equal(totalIterations(quick), 300);
  assert.deepEqual(epochOfIteration(quick, 0), { epoch: 1, iterationInEpoch: 0 });
  assert.deepEqual(epochOfIteration(quick, 49), { epoch: 1, iterationInEpoch: 49 });
  assert.deepEqual(epochOfIteration(quick, 50), { epoch: 2, iterationInEpoch: 0 });
  assert.deepEqual(epochOfIteration(quick, 299), { epoch: 6, iterationInEpoch: 49 });
  assert.throws(() => epochOfIteration(quick, 300), /iteration must be an integer in \[0, 300\)/);
});

test('schedules without a statistics epoch or without a first stage', () => {
  const pams: TrainSchedule = {
    epochs: 3, iterationsPerEpoch: 10, statisticsEpochs: 0,
    firstStage: { fromEpoch: 1, toEpoch: 0, regularizerWeight: 1 }, secondStage: { fromEpoch: 1 },
    learningRateStep: { every: 10, gamma: 0.5 },
  };
  assert.deepEqual([1, 2, 3].map((e) => phaseAt(pams, e).phase), ['second-stage', 'second-stage', 'second-stage']);
  const staticOnly: TrainSchedule = { ...pams, statisticsEpochs: 1, firstStage: { fromEpoch: 2, toEpoch: 3, regularizerWeight: 0.5 }, secondStage: { fromEpoch: 4 } };
  assert.deepEqual([1, 2, 3].map((e) => [phaseAt(staticOnly, e).phase, phaseAt(staticOnly, e).regularizerWeight]), [['statistics', 0], ['first-stage', 0.5], ['first-stage', 0.5]]);
});

test('StepLR factor and rate: chained like PyTorch, also for a gamma that is not a power of two', () => {
  assert.equal(stepLrFactor(1, 10, 0.5), 1);
  assert.equal(stepLrFactor(10, 10, 0.5), 1);
  assert.equal(stepLrFactor(11, 10, 0.5), 0.5);
  assert.equal(stepLrFactor(21, 10, 0.5), 0.25);
  // torch: lr = lr * gamma at each decay, in float64. With gamma 0.7 at the second decay (epoch 21):
  // (1e-4 * 0.7) * 0.7 = 4.899999999999999e-5, while 1e-4 * (0.7 * 0.7) = 4.9e-5.
  assert.equal(stepLrRate(1e-4, 21, 10, 0.7), 4.899999999999999e-5);
  assert.equal(1e-4 * stepLrFactor(21, 10, 0.7), 4.9e-5, 'base x factor rounds differently for this gamma');
  assert.equal(stepLrRate(1e-4, 20, 10, 0.7), 1e-4 * 0.7);
  assert.throws(() => stepLrFactor(1.5, 10, 0.5), /epoch must be an integer >= 1/);
  assert.throws(() => stepLrFactor(1, 0, 0.5), /step size must be an integer >= 1/);
  assert.throws(() => stepLrFactor(1, 10, 0), /gamma must be a finite number > 0/);
});

test('inconsistent schedules are UserErrors naming the field', () => {
  const bad = (patch: Partial<TrainSchedule>, re: RegExp) => assert.throws(
    () => validateSchedule({ ...officialSchedule, ...patch }), (e: Error) => e instanceof UserError && re.test(e.message),
  );
  bad({ firstStage: { fromEpoch: 3, toEpoch: 5, regularizerWeight: 1 } }, /^schedule\.firstStage\.fromEpoch must follow the statistics epochs \(2\), got 3$/);
  bad({ secondStage: { fromEpoch: 7 } }, /^schedule\.secondStage\.fromEpoch must follow the first stage \(6\), got 7$/);
  bad({ epochs: 4 }, /^schedule\.secondStage\.fromEpoch must be at most epochs \+ 1 \(5\), got 6$/);
  bad({ iterationsPerEpoch: 0 }, /^schedule\.iterationsPerEpoch must be an integer >= 1, got 0$/);
  bad({ learningRateStep: { every: 10, gamma: -1 } }, /^schedule\.learningRateStep\.gamma must be a finite number > 0, got -1$/);
  bad({ firstStage: { fromEpoch: 2, toEpoch: 0, regularizerWeight: 1 } }, /toEpoch must be >= fromEpoch - 1 \(1: empty stage\), got 0/);
  assert.ok(Object.isFrozen(officialSchedule) && Object.isFrozen(officialSchedule.firstStage));
});
