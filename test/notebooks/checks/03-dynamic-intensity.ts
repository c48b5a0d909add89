/**
 * Re-check of notebooks/03-dynamic-intensity.ipynb: the dynamic intensities recomputed from the
 * recorded per-batch extremes the DDTB_CHECKS line carries, the ranking and the floor(ratio x L)
 * selection redone from them, the ratio sweep re-derived, and the per-image comparison recomputed.
 */
import * as assert from 'node:assert/strict';
import { ExecutedNotebook, checkNamed, numberOf, numbers } from './types';

/** Population variance, written out here independently of lib/quant/intensity.ts. */
function variance(v: readonly number[]): number {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
}

/** Names of the `count` highest-DI layers, ties broken by forward order (a stable sort). */
function topByDi(layers: readonly string[], di: readonly number[], count: number): string[] {
  return layers.map((name, i) => ({ name, di: di[i], i })).sort((a, b) => b.di - a.di || a.i - b.i).slice(0, count).map((x) => x.name);
}

const OFFICIAL_RATIOS: Record<string, number> = { edsr: 0.3, srresnet: 0.1 };
/** Activation quantizers per residual block in the DDTB graph: EDSR quant_act1..3, SRResNet two (spec 6). */
const QUANTIZERS_PER_BLOCK: Record<string, number> = { edsr: 3, srresnet: 2 };

export function recheck(run: ExecutedNotebook): void {
  const r = run.report;
  const coverage = checkNamed(r, 'every quantizer recorded each batch and each Set14 image once');
  const entries = numberOf(coverage, 'batches') + numberOf(coverage, 'images');

  for (const key of ['edsr', 'srresnet']) {
    const count = checkNamed(r, `${key}: the selected count equals floor(ratio x layers)`);
    const ratio = numberOf(count, 'ratio');
    const L = numberOf(count, 'layers');
    const blocks = numberOf(count, 'blocks');
    assert.ok(blocks >= 1, `${key}: ${blocks} blocks`);
    assert.equal(L, QUANTIZERS_PER_BLOCK[key] * blocks, `${key}: ${L} quantizers for ${blocks} blocks`);
    assert.equal(ratio, OFFICIAL_RATIOS[key], `${key}: ratio`);
    assert.equal(numberOf(count, 'selected'), Math.floor(ratio * L), `${key}: ${numberOf(count, 'selected')} selected of ${L} at ratio ${ratio}`);
    const names = count.values!.names as string[];
    assert.equal(names.length, Math.floor(ratio * L));

    const ranked = checkNamed(r, `${key}: the selected layers have the highest dynamic intensity`);
    const layers = ranked.values!.layers as string[];
    const di = numbers(ranked, 'di');
    const maxima = ranked.values!.maxima as number[][];
    const minima = ranked.values!.minima as number[][];
    assert.equal(layers.length, L);
    layers.forEach((layer, i) => {
      assert.equal(maxima[i].length, entries, `${layer}: recorded maxima`);
      assert.equal(minima[i].length, entries, `${layer}: recorded minima`);
      maxima[i].forEach((mx, j) => assert.ok(mx >= minima[i][j], `${layer}: batch ${j} max below min`));
      const expected = variance(maxima[i]) + variance(minima[i]);
      assert.ok(Math.abs(di[i] - expected) <= 1e-9 * Math.max(1, expected), `${layer}: DI ${di[i]} vs recomputed ${expected}`);
    });
    assert.deepEqual([...names].sort(), topByDi(layers, di, names.length).sort(), `${key}: selected layers are not the top by DI`);
    assert.deepEqual(ranked.values!.selected, names);

    const sweep = checkNamed(r, `${key}: the selection grows with the ratio`);
    const ratios = numbers(sweep, 'ratios');
    const chosen = sweep.values!.chosen as string[][];
    assert.equal(ratios[0], 0);
    assert.equal(ratios[ratios.length - 1], 1);
    ratios.forEach((q, i) => {
      assert.deepEqual([...chosen[i]].sort(), topByDi(layers, di, Math.floor(q * L)).sort(), `${key}: ratio ${q}`);
      if (i > 0) for (const name of chosen[i - 1]) assert.ok(chosen[i].includes(name), `${key}: ${name} dropped between ratios ${ratios[i - 1]} and ${q}`);
    });
    assert.deepEqual(chosen[ratios.indexOf(ratio)], names, `${key}: the sweep at ${ratio} differs from the selection`);

    // The DI bar chart of this network: bars in forward order, the selected ones highlighted.
    const bars = run.figures.find((f) => f.data.length === 2 && f.data.every((t) => t.type === 'bar')
      && (f.data[1] as { x: string[] }).x.length === names.length && (f.data[1] as { x: string[] }).x.every((x) => names.includes(x)));
    assert.ok(bars, `${key}: no DI bar chart highlighting the selected layers`);
    const [base, high] = bars.data as Array<{ x: string[]; y: number[] }>;
    assert.equal(base.x.length + high.x.length, L);
    high.x.forEach((x, i) => assert.equal(high.y[i], di[layers.indexOf(x)]));
  }

  const swing = checkNamed(r, 'per image, the top-ranked layer swings more than the bottom-ranked one');
  const images = swing.values!.images as string[];
  for (const set of ['Set14/', 'B100/', 'Urban100/']) assert.ok(images.some((im) => im.startsWith(set)), `no ${set} image`);
  const top = variance(numbers(swing, 'topMaxima')) + variance(numbers(swing, 'topMinima'));
  const bottom = variance(numbers(swing, 'bottomMaxima')) + variance(numbers(swing, 'bottomMinima'));
  for (const k of ['topMaxima', 'topMinima', 'bottomMaxima', 'bottomMinima']) assert.equal(numbers(swing, k).length, images.length, k);
  assert.ok(top > bottom, `per-image DI: top-ranked ${top} vs bottom-ranked ${bottom}`);
  const [topLayer, bottomLayer] = swing.values!.layers as string[];
  const edsr = checkNamed(r, 'edsr: the selected layers have the highest dynamic intensity');
  const edsrLayers = edsr.values!.layers as string[];
  const edsrDi = numbers(edsr, 'di');
  assert.equal(topLayer, topByDi(edsrLayers, edsrDi, 1)[0], 'the watched top layer is not the highest-DI one');
  assert.equal(bottomLayer, topByDi(edsrLayers, edsrDi, edsrLayers.length)[edsrLayers.length - 1], 'the watched bottom layer is not the lowest-DI one');
}
