/**
 * Re-check of notebooks/02-bound-learning.ipynb: every verdict recomputed from the numbers its
 * DDTB_CHECKS line carries (the schedule arithmetic, one Adam step from the calibration, log against
 * saved model, the dynamic-layer count, the gate factors), and the bound-curve figure against them.
 */
import * as assert from 'node:assert/strict';
import { ExecutedNotebook, checkNamed, numberOf, numbers } from './types';

export function recheck(run: ExecutedNotebook): void {
  const r = run.report;

  const sched = checkNamed(r, 'the log covers the whole schedule, phase by phase');
  const ipe = numberOf(sched, 'iterationsPerEpoch');
  const epochs = numberOf(sched, 'epochs');
  const statEpochs = numberOf(sched, 'statisticsEpochs');
  const [firstFrom, firstTo] = numbers(sched, 'firstStage');
  const secondFrom = numberOf(sched, 'secondStageFrom');
  const logged = sched.values!.logged as Record<string, number>;
  assert.equal(logged.statistics, statEpochs * ipe, 'statistics iterations');
  assert.equal(logged['first-stage'], (firstTo - firstFrom + 1) * ipe, 'first-stage iterations');
  assert.equal(logged['second-stage'], (epochs - secondFrom + 1) * ipe, 'second-stage iterations');
  const iterations = numbers(sched, 'iterations');
  assert.deepEqual(iterations, Array.from({ length: epochs * ipe }, (_, i) => i + 1), 'one record per iteration, in order');
  assert.equal(numberOf(sched, 'calibration'), statEpochs * ipe + 1, 'calibration at the first optimisation step');
  assert.equal(numberOf(sched, 'secondStage'), (secondFrom - 1) * ipe + 1, 'the second stage starts with its epoch');

  const cal = checkNamed(r, 'the first step starts from the calibrated bounds');
  const layers = cal.values!.layers as string[];
  const lr = numberOf(cal, 'boundLearningRate');
  const [cu, cl, fu, fl] = ['calibratedUpper', 'calibratedLower', 'firstUpper', 'firstLower'].map((k) => numbers(cal, k));
  assert.ok(layers.length >= 3 && [cu, cl, fu, fl].every((a) => a.length === layers.length));
  layers.forEach((layer, i) => {
    assert.ok(cu[i] > cl[i], `${layer}: calibrated P99 ${cu[i]} not above P1 ${cl[i]}`);
    // Adam's first update has magnitude at most the learning rate: |g| / (|g| + eps) <= 1.
    assert.ok(Math.abs(fu[i] - cu[i]) <= lr * (1 + 1e-3) + 1e-6, `${layer}: u moved ${fu[i] - cu[i]} in one step`);
    assert.ok(Math.abs(fl[i] - cl[i]) <= lr * (1 + 1e-3) + 1e-6, `${layer}: l moved ${fl[i] - cl[i]} in one step`);
  });
  const calibrates = cal.values!.calibrates as boolean;
  if (numberOf(cal, 'bits') === 2) assert.ok(calibrates, 'at 2 bits the bounds are calibrated (spec 2.6)');
  if (calibrates) {
    // Calibration replaced the +-10 placeholders (spec 2.1) by the data's percentiles; behind a ReLU
    // nothing is negative, so the first percentile is 0.
    layers.forEach((layer, i) => {
      assert.ok(cu[i] !== 10 || cl[i] !== -10, `${layer}: still at the initial bounds`);
      if (layer.endsWith('.quant_act2')) assert.equal(cl[i], 0, `${layer}: P1 of a post-ReLU input`);
    });
  } else {
    layers.forEach((layer, i) => assert.deepEqual([cu[i], cl[i]], [10, -10], `${layer}: uncalibrated bounds start at +-10`));
  }

  const saved = checkNamed(r, 'the last logged bounds are the saved model\'s bounds');
  assert.deepEqual(saved.values!.layers, layers);
  assert.deepEqual(numbers(saved, 'savedUpper'), numbers(saved, 'loggedUpper'));
  assert.deepEqual(numbers(saved, 'savedLower'), numbers(saved, 'loggedLower'));

  const dyn = checkNamed(r, 'the dynamic layers are the statistics epoch\'s choice');
  const loggedDynamic = dyn.values!.logged as string[];
  const modelDynamic = dyn.values!.model as string[];
  assert.deepEqual([...loggedDynamic].sort(), [...modelDynamic].sort());
  assert.equal(loggedDynamic.length, Math.floor(numberOf(dyn, 'ratio') * numberOf(dyn, 'activeLayers')));
  assert.equal(numberOf(dyn, 'activeLayers'), layers.length, 'every active quantizer is a DDTB one with logged bounds');
  for (const l of loggedDynamic) assert.ok(layers.includes(l), `dynamic layer ${l} is not a logged quantizer`);

  const gates = checkNamed(r, 'every gate gives one pair of factors in (0, 2) per image');
  const perImage = numbers(gates, 'perImage');
  const images = gates.values!.images as string[];
  assert.equal(perImage.length, images.length);
  assert.ok(images.length >= 1);
  for (const n of perImage) assert.equal(n, modelDynamic.length);
  const betas = numbers(gates, 'betas');
  assert.equal(betas.length, 2 * images.length * modelDynamic.length);
  for (const b of betas) assert.ok(b > 0 && b < 2, `factor ${b}`);

  // The bound curves: a grid with one u and one l line per drawn layer, from the calibration step on,
  // each relative to its first value; an Adam step moves a bound by at most about
  // lr (1 - beta1) / sqrt(1 - beta2) = 3.16 lr (Kingma & Ba, section 2.1); 3.5 lr leaves room.
  const grid = run.figures.find((f) => f.data.some((t) => t.name === 'u - u0 (upper bound)'));
  assert.ok(grid, 'no bound-curve figure');
  const drift = grid.data.filter((t) => typeof t.name === 'string' && / - [ul]0 /.test(t.name)) as unknown as Array<{ x: number[]; y: number[] }>;
  assert.ok(drift.length >= 4 && drift.length % 2 === 0, 'a u and an l curve for at least two layers');
  for (const t of drift) {
    assert.equal(t.x[0], numberOf(sched, 'calibration'));
    assert.equal(t.x.length, logged['first-stage'] + logged['second-stage']);
    assert.equal(t.y[0], 0);
    for (let k = 1; k < t.y.length; k++) assert.ok(Math.abs(t.y[k] - t.y[k - 1]) <= 3.5 * lr + 1e-5, `a step of ${t.y[k] - t.y[k - 1]} (lr ${lr})`);
  }
}
