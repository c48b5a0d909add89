import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  DisplaySink, PlotlyFigure, checkFigure, figureHtml, imageHtml, inTslabKernel, plotlyLoaderHtml,
  plotlyVersion, showImage, showPlot, tslabSink, PLOT_CONTAINER_CLASS, DEFAULT_PLOT_HEIGHT_PX,
} from '../../lib/viz/display';
import { UserError } from '../../lib/errors';
import { RgbImage } from '../../lib/data/image_types';

/** A sink that records everything sent to it. */
function recorder(): DisplaySink & { htmls: string[]; pngs: Uint8Array[] } {
  const htmls: string[] = [];
  const pngs: Uint8Array[] = [];
  return { htmls, pngs, html: (h) => { htmls.push(h); }, png: (p) => { pngs.push(p); } };
}

/** The figure spec embedded in figureHtml's script, parsed back. */
function embeddedSpec(html: string): { data: Record<string, unknown>[]; layout: Record<string, unknown>; config: Record<string, unknown> } {
  const m = /var fig = (.*);\n/.exec(html);
  assert.ok(m, 'figure spec not found in the HTML');
  return JSON.parse(m[1]);
}

/** A 3x2 image with distinct pixel values. */
function smallImage(): RgbImage {
  const data = new Uint8Array(3 * 2 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
  return { width: 3, height: 2, data, gray: false };
}

test('checkFigure refuses WebGL trace types and names the trace', () => {
  assert.throws(() => checkFigure({ data: [{ type: 'scatter' }, { type: 'scattergl', x: [1] }] }),
    (e: unknown) => e instanceof UserError && /trace 1 has type 'scattergl'.*WebGL.*use 'scatter'/.test(e.message));
  assert.throws(() => checkFigure({ data: [{ type: 'surface' }] }), /trace 0 has type 'surface'.*no SVG equivalent/);
  assert.throws(() => checkFigure({ data: {} as unknown as PlotlyFigure['data'] }), /figure.data must be an array/);
  assert.throws(() => checkFigure({ data: [null as unknown as PlotlyFigure['data'][number]] }), /trace 0 is not an object/);
  // No type means scatter; bar and heatmap are SVG.
  checkFigure({ data: [{ x: [1, 2] }, { type: 'bar' }, { type: 'heatmap', z: [[1]] }] });
});

test('figureHtml: container, height, typed arrays as arrays, script-safe JSON', () => {
  const html = figureHtml({
    data: [{ type: 'scatter', name: '</script><b>x', x: new Float32Array([0.5, 1.5]), y: new Uint8Array([3, 4]) }],
    layout: { height: 321, title: { text: 'a < b' } },
    config: { displaylogo: true },
  }, { id: 'fixed-id' });
  assert.match(html, new RegExp(`<div id="fixed-id" class="${PLOT_CONTAINER_CLASS}" style="width:100%;height:321px;"></div>`));
  // Exactly one script element, closed once: the trace name cannot end it early.
  assert.equal(html.split('</script>').length, 2);
  assert.equal((html.match(/<script>/g) ?? []).length, 1);
  const spec = embeddedSpec(html);
  assert.deepEqual(spec.data[0].x, [0.5, 1.5]);
  assert.deepEqual(spec.data[0].y, [3, 4]);
  assert.equal(spec.data[0].name, '</script><b>x');
  assert.deepEqual(spec.layout.title, { text: 'a < b' });
  // Our defaults, with the figure's own config winning.
  assert.deepEqual(spec.config, { responsive: true, displaylogo: true });
});

test('figureHtml: default height and fresh ids', () => {
  const a = figureHtml({ data: [{ y: [1] }] });
  const b = figureHtml({ data: [{ y: [1] }] });
  assert.match(a, new RegExp(`height:${DEFAULT_PLOT_HEIGHT_PX}px`));
  const id = (h: string) => /<div id="([^"]+)"/.exec(h)?.[1];
  assert.ok(id(a) && id(b) && id(a) !== id(b), `ids ${id(a)} and ${id(b)} should differ`);
});

test('plotlyLoaderHtml hides define around the bundle and restores it', () => {
  const html = plotlyLoaderHtml('/* bundle */ var x = "</script>";', '9.9.9');
  const scripts = html.match(/<script>[\s\S]*?<\/script>/g) ?? [];
  assert.equal(scripts.length, 3);
  assert.match(scripts[0], /window.define = undefined/);
  assert.match(scripts[1], /\/\* bundle \*\/ var x = "<\\\/script>";/);
  assert.match(scripts[2], /window.define = s.define/);
  assert.match(html, /plotly.js 9.9.9/);
});

test('showPlot sends plotly.js with the first figure of a sink only', () => {
  const version = plotlyVersion();
  const sink = recorder();
  const fig: PlotlyFigure = { data: [{ type: 'scatter', y: [1, 3, 2] }] };
  showPlot(fig, sink);
  showPlot(fig, sink);
  assert.equal(sink.htmls.length, 2);
  // The bundle's own banner and our loader comment appear in the first output only.
  assert.ok(sink.htmls[0].includes(`plotly.js v${version}`), 'first output lacks the bundle');
  assert.ok(sink.htmls[0].length > 1_000_000, `first output is ${sink.htmls[0].length} chars`);
  assert.ok(!sink.htmls[1].includes(`plotly.js v${version}`), 'second output repeats the bundle');
  assert.match(sink.htmls[1], /Plotly.newPlot/);
  // Another sink (another kernel) gets the bundle again.
  const other = recorder();
  showPlot(fig, other);
  assert.ok(other.htmls[0].includes(`plotly.js v${version}`));
  assert.throws(() => showPlot({ data: [{ type: 'scattergl' }] }, other), /WebGL/);
  assert.equal(other.htmls.length, 1);
});

test('outside a tslab kernel there is no default sink', async () => {
  assert.equal(inTslabKernel(), false);
  assert.equal(tslabSink(), null);
  assert.throws(() => showPlot({ data: [] }), (e: unknown) => e instanceof UserError && /not inside a tslab kernel/.test(e.message));
  await assert.rejects(showImage(smallImage()), /showImage: not inside a tslab kernel/);
});

test('showImage sends a PNG that decodes to the same pixels', async () => {
  const img = smallImage();
  const sink = recorder();
  await showImage(img, {}, sink);
  assert.equal(sink.pngs.length, 1);
  assert.equal(sink.htmls.length, 0);
  const { data, info } = await sharp(Buffer.from(sink.pngs[0])).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [3, 2, 3]);
  assert.deepEqual(new Uint8Array(data), img.data);
});

test('showImage with a caption or scale sends an HTML figure with the PNG inline', async () => {
  const img = smallImage();
  const sink = recorder();
  await showImage(img, { caption: 'HR <crop> & "x2"', scale: 4 }, sink);
  assert.equal(sink.pngs.length, 0);
  const html = sink.htmls[0];
  assert.match(html, /width="12" height="8"/);
  assert.match(html, /<figcaption>HR &lt;crop&gt; &amp; &quot;x2&quot;<\/figcaption>/);
  const b64 = /src="data:image\/png;base64,([^"]+)"/.exec(html)?.[1];
  assert.ok(b64);
  const { data } = await sharp(Buffer.from(b64, 'base64')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Uint8Array(data), img.data);
  assert.throws(() => imageHtml(new Uint8Array(1), img, { scale: 0 }), /scale 0 must be a positive number/);
  await assert.rejects(showImage({ width: 2, height: 2, data: new Uint8Array(5), gray: false }, {}, sink),
    /image data has 5 bytes, expected 2x2x3 = 12/);
});
