/** lib/viz/run_curves: bound curves, stage markers and gradient magnitudes from a run log. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { boundCurve, epochRecords, iterationRecords, loggedLayers, movingAbsMean, stageMarkers } from '../../lib/viz/run_curves';
import type { IterationRecord, LogRecord } from '../../lib/train/run_log';

function step(iteration: number, epoch: number, phase: string, bounds: Record<string, [number, number]>, grads: Record<string, [number, number]>): IterationRecord {
  return { kind: 'iteration', iteration, epoch, phase, loss: 1, l1: 1, at: 0, reg: 0, learningRates: { bound: 1e-2, base: 1e-4 }, bounds, boundGrads: grads, gates: {} };
}

// Two iterations per epoch: statistics (1-2), first stage (3-4), second stage (5-6).
const log: LogRecord[] = [
  step(1, 1, 'statistics', {}, {}),
  step(2, 1, 'statistics', {}, {}),
  { kind: 'epoch', epoch: 1, iteration: 2, phase: 'statistics', seconds: 1, validation: null, dynamic: ['b.q2'] },
  step(3, 2, 'first-stage', { 'b.q1': [2.5, -1.5], 'b.q2': [4, 0] }, { 'b.q1': [0.1, -0.2], 'b.q2': [-3, 1] }),
  step(4, 2, 'first-stage', { 'b.q1': [2.4, -1.4], 'b.q2': [4.1, 0.01] }, { 'b.q1': [-0.3, 0.4], 'b.q2': [2, -1] }),
  { kind: 'epoch', epoch: 2, iteration: 4, phase: 'first-stage', seconds: 1, validation: { set: 'v', psnr: 20 } },
  step(5, 3, 'second-stage', { 'b.q1': [2.3, -1.3], 'b.q2': [4.2, 0.02] }, { 'b.q1': [0.5, -0.6], 'b.q2': [1, 1] }),
  step(6, 3, 'second-stage', { 'b.q1': [2.2, -1.2], 'b.q2': [4.3, 0.03] }, { 'b.q1': [-0.7, 0.8], 'b.q2': [0, 0] }),
  { kind: 'epoch', epoch: 3, iteration: 6, phase: 'second-stage', seconds: 1, validation: { set: 'v', psnr: 21 } },
];

test('iteration and epoch records, and the logged layers in order', () => {
  assert.deepEqual(iterationRecords(log).map((r) => r.iteration), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(epochRecords(log).map((r) => r.epoch), [1, 2, 3]);
  assert.deepEqual(loggedLayers(log), ['b.q1', 'b.q2']);
  assert.deepEqual(loggedLayers(log.slice(0, 3)), []);
});

test('stageMarkers: calibration at the first optimisation step, the second stage, epoch ends', () => {
  assert.deepEqual(stageMarkers(log), { calibration: 3, secondStage: 5, epochEnds: [2, 4, 6] });
  assert.deepEqual(stageMarkers(log.slice(0, 6)), { calibration: 3, secondStage: null, epochEnds: [2, 4] });
});

test('boundCurve: u, l and gradients of the optimisation steps only; an unknown layer is named', () => {
  const c = boundCurve(log, 'b.q1');
  assert.deepEqual(c.iteration, [3, 4, 5, 6]);
  assert.deepEqual(c.upper, [2.5, 2.4, 2.3, 2.2]);
  assert.deepEqual(c.lower, [-1.5, -1.4, -1.3, -1.2]);
  assert.deepEqual(c.gradUpper, [0.1, -0.3, 0.5, -0.7]);
  assert.deepEqual(c.gradLower, [-0.2, 0.4, -0.6, 0.8]);
  assert.throws(() => boundCurve(log, 'b.q9'), /no bounds for layer 'b\.q9' \(logged: b\.q1, b\.q2\)/);
});

test('movingAbsMean: trailing mean of magnitudes, shorter windows at the start', () => {
  assert.deepEqual(movingAbsMean([1, -3, 2, -4], 2), [1, 2, 2.5, 3]);
  assert.deepEqual(movingAbsMean([-2], 5), [2]);
  assert.deepEqual(movingAbsMean([], 3), []);
  assert.throws(() => movingAbsMean([1], 0), /window 0 must be a positive integer/);
});
