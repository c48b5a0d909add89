/**
 * Re-check of notebooks/01-activation-asymmetry.ipynb: every verdict recomputed from the numbers its
 * DDTB_CHECKS line carries, the quantizer levels against their closed forms, and the histogram
 * figure against the carried counts.
 */
import * as assert from 'node:assert/strict';
import { ExecutedNotebook, checkNamed, numberOf, numbers } from './types';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));

export function recheck(run: ExecutedNotebook): void {
  const r = run.report;

  const fp = checkNamed(r, 'the float-mode graph computes the FP network');
  assert.ok(numberOf(fp, 'maxAbsDifference') <= numberOf(fp, 'tolerance'), fp.detail);
  assert.ok(numberOf(fp, 'tolerance') <= 1e-3);

  const mse = checkNamed(r, "the asymmetric quantizer's MSE is below the symmetric one's on most layers");
  const layers = mse.values!.layers as string[];
  const sym = numbers(mse, 'symmetricMse');
  const asym = numbers(mse, 'asymmetricMse');
  assert.equal(sym.length, layers.length);
  assert.equal(asym.length, layers.length);
  assert.ok(layers.length >= 6, `only ${layers.length} layers`);
  const below = layers.filter((_, i) => asym[i] < sym[i]).length;
  assert.equal(numberOf(mse, 'below'), below, 'the carried count disagrees with the carried MSEs');
  assert.ok(below > layers.length / 2, `asymmetric MSE below symmetric on ${below} of ${layers.length} layers`);
  for (const v of [...sym, ...asym]) assert.ok(v > 0, 'an MSE of 0 on real activations at 2 bits');

  const lv = checkNamed(r, 'the levels follow the two formulas');
  const bits = numberOf(lv, 'bits');
  const minima = numbers(lv, 'minima');
  const maxima = numbers(lv, 'maxima');
  const lower = numbers(lv, 'lower');
  const upper = numbers(lv, 'upper');
  const symLevels = lv.values!.symmetricLevels as number[][];
  const asymLevels = lv.values!.asymmetricLevels as number[][];
  const qmax = 2 ** (bits - 1) - 1;
  layers.forEach((layer, i) => {
    // Symmetric: alpha = max|x| and the levels j alpha / qmax, j = -qmax..qmax.
    const alpha = Math.max(Math.abs(minima[i]), Math.abs(maxima[i]));
    assert.equal(symLevels[i].length, 2 * qmax + 1, layer);
    symLevels[i].forEach((v, j) => assert.ok(Math.abs(v - ((j - qmax) * alpha) / qmax) <= 1e-5 * alpha, `${layer}: symmetric level ${j} = ${v}`));
    // Asymmetric: percentile bounds inside the data range, 2^k levels 1/s = (u - l)/n apart, zero on the grid.
    assert.ok(minima[i] <= lower[i] && lower[i] < upper[i] && upper[i] <= maxima[i], `${layer}: bounds [${lower[i]}, ${upper[i]}] outside [${minima[i]}, ${maxima[i]}]`);
    const n = 2 ** bits - 1;
    const step = (upper[i] - lower[i]) / n;
    const levels = asymLevels[i];
    assert.equal(levels.length, n + 1, layer);
    for (let j = 1; j < levels.length; j++) assert.ok(rel(levels[j] - levels[j - 1], step) < 1e-4, `${layer}: step ${levels[j] - levels[j - 1]} vs ${step}`);
    // Zero-aligned: every level is an integer multiple of the step, within half a step of the bounds.
    for (const v of levels) assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-3, `${layer}: level ${v} is not on the zero-aligned grid`);
    assert.ok(levels[0] >= lower[i] - step / 2 - 1e-4 && levels[n] <= upper[i] + step / 2 + 1e-4, `${layer}: levels beyond half a step of the bounds`);
  });

  const relu = checkNamed(r, 'post-ReLU inputs never use the negative symmetric level');
  const reluLayers = relu.values!.layers as string[];
  assert.deepEqual(reluLayers, layers.filter((l) => l.endsWith('.quant_act2')));
  const reluMin = numbers(relu, 'minima');
  const levelCounts = relu.values!.symmetricLevelCounts as number[][];
  const unused = numbers(relu, 'unusedShares');
  reluLayers.forEach((layer, i) => {
    assert.ok(reluMin[i] >= 0, `${layer}: negative input ${reluMin[i]} after a ReLU`);
    assert.equal(reluMin[i], minima[layers.indexOf(layer)]);
    assert.equal(levelCounts[i][0], 0, `${layer}: values on the level -alpha`);
    assert.equal(unused[i], levelCounts[i].filter((c) => c === 0).length / levelCounts[i].length);
    assert.ok(unused[i] >= 1 / 3);
  });

  const counted = checkNamed(r, 'every activation was counted once');
  const counts = numbers(counted, 'counts');
  const expected = numberOf(counted, 'pixels') * numberOf(counted, 'channels');
  assert.ok(counts.length === layers.length && counts.every((c) => c === expected), `counts ${counts[0]}... vs ${expected}`);
  reluLayers.forEach((layer, i) => assert.equal(levelCounts[i].reduce((a, b) => a + b, 0), expected, `${layer}: level counts do not add up`));

  // The histogram grid: one bar trace per plotted layer, counting every value of that layer.
  const plotLayers = counted.values!.plotLayers as string[];
  const grid = run.figures.find((f) => f.data.filter((t) => t.type === 'bar').length === plotLayers.length && f.data.length > plotLayers.length);
  assert.ok(grid, 'no histogram grid with one bar trace per plotted layer');
  const bars = grid.data.filter((t) => t.type === 'bar') as Array<{ y: number[] }>;
  bars.forEach((t, i) => assert.equal(t.y.reduce((a, b) => a + b, 0), expected, `histogram of ${plotLayers[i]}`));
  const lines = grid.data.filter((t) => t.type === 'scatter') as Array<{ x: Array<number | null> }>;
  assert.equal(lines.length, 2 * plotLayers.length, 'two level sets per panel');
  plotLayers.forEach((layer, i) => {
    const drawn = lines[2 * i].x.filter((v): v is number => v !== null);
    const k = layers.indexOf(layer);
    assert.deepEqual([...new Set(drawn)], symLevels[k], `${layer}: drawn symmetric levels`);
    assert.deepEqual([...new Set(lines[2 * i + 1].x.filter((v): v is number => v !== null))], asymLevels[k], `${layer}: drawn asymmetric levels`);
  });
}
