/** lib/viz/figures: the figure specs as data (their drawing is checked in the browser tests). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { barFigure, boxFigure, gridFigure, heatmapFigure, histogramCounts, histogramFigure, lineFigure, scatterFigure } from '../../lib/viz/figures';
import { checkFigure } from '../../lib/viz/display';

type AnyTrace = Record<string, unknown> & { x?: unknown[]; y?: unknown[] };
type AnyLayout = Record<string, Record<string, unknown> & unknown[]>;

test('histogramCounts: numpy-style equal bins, the last bin closed, range and errors', () => {
  assert.deepEqual(histogramCounts([0, 1, 1, 2], { bins: 2 }), { edges: [0, 1, 2], counts: [1, 3] });
  // As numpy.histogram([-3, -1, 0, 0.5, 2, 4], bins=4, range=(-2, 2)): -3 and 4 fall outside, 2 is in the last bin.
  assert.deepEqual(histogramCounts(new Float32Array([-3, -1, 0, 0.5, 2, 4]), { bins: 4, range: [-2, 2] }).counts, [0, 1, 2, 1]);
  assert.deepEqual(histogramCounts([5, 5, 5], { bins: 1 }), { edges: [4.5, 5.5], counts: [3] });
  assert.throws(() => histogramCounts([1, NaN]), /non-finite value NaN at index 1/);
  assert.throws(() => histogramCounts([1], { bins: 0 }), /bins must be a positive integer/);
});

test('histogramFigure: bars at bin centres with widths, log count axis, one trace per level set', () => {
  const fig = histogramFigure({ name: 'x', edges: [0, 1, 3], counts: [10, 0] }, {
    title: 't', levels: [{ name: 'sym', values: [-1, 0, 1] }, { name: 'asym', values: [0.5], dash: 'dash' }],
  });
  checkFigure(fig);
  const [bars, sym, asym] = fig.data as AnyTrace[];
  assert.equal(bars.type, 'bar');
  assert.deepEqual(bars.x, [0.5, 2]);
  assert.deepEqual(bars.width, [1, 2]);
  assert.deepEqual(sym.x, [-1, -1, null, 0, 0, null, 1, 1, null]);
  assert.deepEqual(sym.y, [0.7, 20, null, 0.7, 20, null, 0.7, 20, null]);
  assert.equal((asym.line as { dash: string }).dash, 'dash');
  const y = (fig.layout as AnyLayout).yaxis;
  assert.equal(y.type, 'log');
  assert.deepEqual(y.range, [Math.log10(0.7), Math.log10(20)]);
  assert.equal(histogramFigure({ name: 'x', edges: [0, 1], counts: [4] }, { logCounts: false }).layout!.yaxis
    && ((histogramFigure({ name: 'x', edges: [0, 1], counts: [4] }, { logCounts: false }).layout as AnyLayout).yaxis.type), 'linear');
  assert.throws(() => histogramFigure({ name: 'x', edges: [0, 1], counts: [1, 2] }), /2 edges for 2 counts/);
});

test('barFigure: two groups in the given category order, highlighted ones apart', () => {
  const fig = barFigure({ labels: ['a', 'b', 'c', 'd'], values: [4, 3, 2, 1], highlight: [false, true, false, true] },
    { names: { base: 'static', highlighted: 'dynamic' }, hlines: [{ y: 2.5, label: 'cut' }] });
  checkFigure(fig);
  const [base, hi] = fig.data as AnyTrace[];
  assert.deepEqual([base.name, base.x, base.y], ['static', ['a', 'c'], [4, 2]]);
  assert.deepEqual([hi.name, hi.x, hi.y], ['dynamic', ['b', 'd'], [3, 1]]);
  const layout = fig.layout as AnyLayout;
  assert.deepEqual(layout.xaxis.categoryarray, ['a', 'b', 'c', 'd']);
  assert.equal((layout.shapes[0] as unknown as { y0: number }).y0, 2.5);
  assert.throws(() => barFigure({ labels: ['a', 'a'], values: [1, 2] }), /labels must be unique/);
  assert.throws(() => barFigure({ labels: ['a'], values: [1, 2] }), /1 x values but 2 y values/);
});

test('lineFigure, scatterFigure, boxFigure, heatmapFigure: SVG traces with their data', () => {
  const line = lineFigure([{ name: 'u', x: [0, 1, 2], y: new Float32Array([3, 2, 1]) }], { markers: [{ x: 1, label: 'calibration' }], logY: true });
  checkFigure(line);
  assert.deepEqual((line.data[0] as AnyTrace).y, [3, 2, 1]);
  assert.equal(((line.layout as AnyLayout).shapes[0] as unknown as { x0: number }).x0, 1);
  assert.equal((line.layout as AnyLayout).yaxis.type, 'log');
  const sc = scatterFigure([{ name: 'p', x: [1, 4], y: [2, 3] }], { diagonal: true });
  checkFigure(sc);
  assert.deepEqual([(sc.data[1] as AnyTrace).x, (sc.data[1] as AnyTrace).y], [[1, 4], [1, 4]]);
  assert.equal((sc.data[0] as AnyTrace).mode, 'markers');
  const box = boxFigure([{ name: 'g', values: [1, 2, 3] }]);
  checkFigure(box);
  assert.equal((box.data[0] as AnyTrace).type, 'box');
  const hm = heatmapFigure({ x: [0, 0.5], y: ['a', 'b'], z: [[1, 0], [0, 1]] });
  checkFigure(hm);
  assert.equal((hm.data[0] as AnyTrace).type, 'heatmap');
  const hm2 = heatmapFigure({ x: [0], y: ['a'], z: [[1]] }, { colorscale: [[0, '#eee'], [1, 'red']], showScale: false, reversedY: true });
  assert.deepEqual([(hm2.data[0] as AnyTrace).colorscale, (hm2.data[0] as AnyTrace).showscale], [[[0, '#eee'], [1, 'red']], false]);
  assert.equal((hm2.layout as AnyLayout).yaxis.autorange, 'reversed');
  assert.throws(() => heatmapFigure({ x: [0], y: ['a'], z: [[1, 2]] }), /row 0 has 2 values for 1 columns/);
});

test('gridFigure: panels get their own axes, domains, shapes and titles; legend entries once', () => {
  const a = histogramFigure({ name: 'acts', edges: [0, 1], counts: [1] }, { title: 'layer A', levels: [{ name: 'sym', values: [0] }] });
  const b = lineFigure([{ name: 'acts', x: [0], y: [1] }], { title: 'layer B', markers: [{ x: 0, label: 'm' }] });
  const c = histogramFigure({ name: 'acts', edges: [0, 1], counts: [1] });
  const g = gridFigure([a, b, c], { columns: 2, title: 'all' });
  checkFigure(g);
  const traces = g.data as AnyTrace[];
  assert.deepEqual(traces.map((t) => [t.xaxis, t.yaxis]), [['x', 'y'], ['x', 'y'], ['x2', 'y2'], ['x3', 'y3']]);
  assert.deepEqual(traces.map((t) => t.showlegend), [true, true, false, false]);
  const layout = g.layout as AnyLayout;
  assert.deepEqual(layout.xaxis.domain, [0, 0.46]);
  assert.deepEqual(layout.xaxis2.domain, [0.54, 1]);
  assert.equal(layout.yaxis.type, 'log');
  assert.equal(layout.yaxis3.anchor, 'x3');
  assert.deepEqual(layout.yaxis3.domain, [0, 0.44]);
  const shape = layout.shapes[0] as unknown as { xref: string; yref: string };
  assert.deepEqual([shape.xref, shape.yref], ['x2', 'y2 domain']);
  const titles = (layout.annotations as unknown as Array<{ text: string }>).map((x) => x.text);
  assert.deepEqual(titles.sort(), ['layer A', 'layer B', 'm'].sort());
});
