import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { dynamicIntensity, populationVariance, rankDynamicIntensity, selectTopByIntensity, selectedCount } from '../../lib/quant/intensity';

test('population variance (ddof 0) and DI = Var(maxima) + Var(minima)', () => {
  assert.equal(populationVariance([1, 2, 3, 4]), 1.25);
  assert.equal(populationVariance([5]), 0);
  assert.equal(dynamicIntensity([1, 2, 3, 4], [-1, -1, -3, -3]), 1.25 + 1);
  assert.throws(() => populationVariance([]), /no values/);
});

test('floor(ratio * L) as the official int(len * ratio): 14 of 48 (EDSR), 72 of 145 (RDN), 3 of 32 (SRResNet)', () => {
  assert.equal(selectedCount(48, 0.3), 14);
  assert.equal(selectedCount(145, 0.5), 72);
  assert.equal(selectedCount(32, 0.1), 3);
  assert.equal(selectedCount(5, 0.3), 1);
  assert.equal(selectedCount(100, 0.57), 56, 'the float product 56.99999999999999 truncates, as in Python');
  assert.throws(() => selectedCount(10, 1.5), /dynamic ratio must be in \[0, 1\]/);
});

test('ranking table in forward order with rank and selected; equal DI keep forward order (stable sort)', () => {
  const layers = [
    { name: 'body.0.quant_act1', maxima: [1, 1, 1], minima: [0, 0, 0] },          // DI 0
    { name: 'body.0.quant_act2', maxima: [1, 3, 5], minima: [0, 0, 0] },          // DI 8/3
    { name: 'body.0.quant_act3', maxima: [], minima: [] },                        // never ran: left out
    { name: 'body.1.quant_act1', maxima: [0, 0, 0], minima: [-1, -3, -5] },       // DI 8/3 (tie, later)
    { name: 'body.1.quant_act2', maxima: [2, 10, 2], minima: [0, 0, 0] },         // DI 14.22
  ];
  const rows = rankDynamicIntensity(layers, 0.5);
  assert.deepEqual(rows.map((r) => r.name), ['body.0.quant_act1', 'body.0.quant_act2', 'body.1.quant_act1', 'body.1.quant_act2']);
  assert.deepEqual(rows.map((r) => r.rank), [4, 2, 3, 1]);
  assert.deepEqual(rows.map((r) => r.selected), [false, true, false, true], 'floor(0.5 * 4) = 2');
  assert.ok(Math.abs(rows[3].di - 128 / 9) < 1e-12);
  assert.deepEqual(selectTopByIntensity(rows, 0.5), ['body.1.quant_act2', 'body.0.quant_act2']);
  assert.deepEqual(selectTopByIntensity(rows, 0.75), ['body.1.quant_act2', 'body.0.quant_act2', 'body.1.quant_act1']);
  assert.deepEqual(selectTopByIntensity(rows, 0), []);
});

test('ranking rejects mismatched lists and non-finite DI, naming the layer', () => {
  assert.throws(() => rankDynamicIntensity([{ name: 'act', maxima: [1, 2], minima: [1] }], 0.5), /act has 2 maxima but 1 minima/);
  assert.throws(() => rankDynamicIntensity([{ name: 'act', maxima: [1, NaN], minima: [1, 2] }], 0.5), /act has a non-finite DI/);
});
