/**
 * Rich output for tslab notebooks: plotly figures and images.
 *
 * Figures are plain data (`{data, layout?, config?}`, plotly's own JSON schema). The first figure a
 * kernel shows also carries plotly.js itself (plotly.js-dist, read as text and inlined), so the
 * notebook and its HTML export need no network. Later figures in the same kernel rely on it; a
 * restarted kernel emits it again with its first figure.
 *
 * plotly.js must work whether or not the page has an AMD loader: classic Jupyter Notebook (and our
 * offline HTML) has require.js, where a UMD bundle would register itself as an anonymous AMD module
 * (an error under require.js) and leave `window.Plotly` unset. The loader hides `define` while the
 * bundle runs and puts it back afterwards, so `window.Plotly` is set on every page. A figure drawn
 * before the bundle finished loading waits in a queue that the loader drains.
 *
 * Only SVG trace types are accepted: WebGL ones (scattergl, 3-D, maps, ...) need a GPU context that
 * headless Chromium and many remote sessions lack, so they are refused with an error.
 *
 * Output goes to a `DisplaySink`: tslab's `display` inside a tslab kernel (`tslabSink()`), or any
 * object with `html`/`png` methods (tests record what was emitted). The `*Html` functions are pure
 * and return the HTML itself.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import sharp from 'sharp';
import type { Display } from 'tslab';
import { UserError } from '../errors';
import { RgbImage } from '../data/image_types';

/** One plotly trace: `type` defaults to `scatter`; other fields follow plotly's schema. */
export interface PlotlyTrace {
  readonly type?: string;
  readonly [field: string]: unknown;
}

/** A plotly figure as plain data. Typed arrays anywhere inside are written as JSON arrays. */
export interface PlotlyFigure {
  readonly data: readonly PlotlyTrace[];
  readonly layout?: Readonly<Record<string, unknown>>;
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Where rich output goes: tslab's display, or a recorder in tests. */
export interface DisplaySink {
  html(html: string): void;
  png(png: Uint8Array): void;
}

/**
 * Trace types plotly draws with WebGL, each with the SVG type to use instead (null: none).
 * `heatmapgl` and `pointcloud` left plotly in v3 but old figure specs still name them.
 */
export const WEBGL_TRACE_TYPES: Readonly<Record<string, string | null>> = {
  scattergl: 'scatter', scatterpolargl: 'scatterpolar', heatmapgl: 'heatmap', pointcloud: 'scatter',
  splom: 'scatter traces on subplots', parcoords: null, scatter3d: null, surface: null, mesh3d: null,
  cone: null, streamtube: null, volume: null, isosurface: null,
  scattermapbox: null, choroplethmapbox: null, densitymapbox: null,
  scattermap: null, choroplethmap: null, densitymap: null,
};

/** Default height of a figure's container in CSS pixels, when the layout gives none. */
export const DEFAULT_PLOT_HEIGHT_PX = 450;

/** CSS class of every figure container (the browser check looks for an SVG inside each). */
export const PLOT_CONTAINER_CLASS = 'ddtb-plot';

/** Name of the page-global object through which the loader and the figures meet. */
const PAGE_STATE = '__ddtbPlotly';

/** Throws a UserError naming the trace when the figure is malformed or uses a WebGL trace type. */
export function checkFigure(figure: PlotlyFigure): void {
  if (figure === null || typeof figure !== 'object' || !Array.isArray(figure.data)) {
    throw new UserError('showPlot: figure.data must be an array of traces');
  }
  figure.data.forEach((trace, i) => {
    if (trace === null || typeof trace !== 'object' || Array.isArray(trace)) {
      throw new UserError(`showPlot: trace ${i} is not an object`);
    }
    const type = trace.type ?? 'scatter';
    if (typeof type !== 'string') throw new UserError(`showPlot: trace ${i} has a non-string type`);
    if (Object.prototype.hasOwnProperty.call(WEBGL_TRACE_TYPES, type)) {
      const instead = WEBGL_TRACE_TYPES[type];
      throw new UserError(`showPlot: trace ${i} has type '${type}', which plotly draws with WebGL `
        + `(not available headless or offline); ${instead ? `use '${instead}' instead` : 'no SVG equivalent'}`);
    }
  });
}

/** The plotly.js-dist package folder. */
function plotlyPackageDir(): string {
  return path.dirname(require.resolve('plotly.js-dist/package.json'));
}

/** plotly.js-dist's version, e.g. `3.7.0`. */
export function plotlyVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(plotlyPackageDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The plotly.js bundle as text (about 11 MB; read on demand, not kept). */
export function plotlyBundle(): string {
  return fs.readFileSync(path.join(plotlyPackageDir(), 'plotly.js'), 'utf8');
}

/** Script text safe inside `<script>…</script>`: no `</` sequence can close the element early. */
function scriptSafe(source: string): string {
  return source.replace(/<\//g, '<\\/');
}

/**
 * HTML that loads plotly.js from inline text: three scripts, so the bundle runs as its own
 * top-level script (unchanged) between one that hides `define` and one that restores it and draws
 * the figures queued meanwhile. The third runs even when the bundle throws.
 */
export function plotlyLoaderHtml(bundle: string = plotlyBundle(), version: string = plotlyVersion()): string {
  const before = `window.${PAGE_STATE} = { define: window.define, hadDefine: 'define' in window, `
    + `queue: (window.${PAGE_STATE} && window.${PAGE_STATE}.queue) || [] }; window.define = undefined;`;
  const after = `(function (s) {
  if (s.hadDefine) { window.define = s.define; } else { delete window.define; }
  s.define = undefined;
  var queue = s.queue; s.queue = null;
  for (var i = 0; i < queue.length; i++) { queue[i](); }
})(window.${PAGE_STATE});`;
  return `<!-- plotly.js ${version}, inlined once per kernel by ddtb-lab -->\n`
    + `<script>${before}</script>\n<script>${scriptSafe(bundle)}</script>\n<script>${after}</script>\n`;
}

/** Copies `value` with every typed array replaced by a plain array (JSON would make it an object). */
function toPlain(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>);
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
  }
  return value;
}

/** JSON for a script body: `<`, U+2028 and U+2029 escaped so the text cannot end or break the script. */
function scriptJson(value: unknown): string {
  return JSON.stringify(toPlain(value))
    .replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

let plotCounter = 0;

/** A page-unique container id: a counter plus random hex, so ids differ across kernel restarts. */
function newPlotId(): string {
  plotCounter += 1;
  return `ddtb-plot-${plotCounter}-${randomBytes(4).toString('hex')}`;
}

export interface FigureHtmlOptions {
  /** Container id; a fresh unique id when omitted. */
  readonly id?: string;
}

/**
 * HTML for one figure: a container div and a script that draws into it with `Plotly.newPlot`
 * (now when plotly.js is loaded, else when the loader drains its queue, else a message in the
 * container). It does not include plotly.js itself (see `plotlyLoaderHtml`).
 */
export function figureHtml(figure: PlotlyFigure, options: FigureHtmlOptions = {}): string {
  checkFigure(figure);
  const id = options.id ?? newPlotId();
  const layout = figure.layout ?? {};
  const height = typeof layout.height === 'number' ? layout.height : DEFAULT_PLOT_HEIGHT_PX;
  const config = { responsive: true, displaylogo: false, ...(figure.config ?? {}) };
  const spec = scriptJson({ data: figure.data, layout, config });
  return `<div id="${id}" class="${PLOT_CONTAINER_CLASS}" style="width:100%;height:${height}px;"></div>
<script>(function () {
  var el = document.getElementById(${JSON.stringify(id)});
  var fig = ${spec};
  function fail(e) { el.textContent = 'plotly could not draw this figure: ' + e; }
  function draw() {
    try { Promise.resolve(window.Plotly.newPlot(el, fig.data, fig.layout, fig.config)).catch(fail); }
    catch (e) { fail(e); }
  }
  var s = window.${PAGE_STATE};
  if (window.Plotly) { draw(); }
  else if (s && s.queue) { s.queue.push(draw); }
  else { el.textContent = 'plotly.js is not loaded on this page: it comes with the first figure of a kernel, so run the notebook from the top.'; }
})();</script>
`;
}

/** Sinks that have already been sent plotly.js (for the tslab sink: this kernel process). */
const sinksWithPlotly = new WeakSet<DisplaySink>();

/** True inside a tslab kernel process (`<node> .../tslab kernel ...`). */
export function inTslabKernel(): boolean {
  const [, script, command] = process.argv;
  return script !== undefined && path.basename(script) === 'tslab' && command === 'kernel';
}

let kernelSink: DisplaySink | null | undefined;

/** tslab's display as a sink, inside a tslab kernel; null elsewhere. tslab is loaded only then. */
export function tslabSink(): DisplaySink | null {
  if (kernelSink !== undefined) return kernelSink;
  if (!inTslabKernel()) return (kernelSink = null);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const display = (require('tslab') as { display: Display }).display;
  kernelSink = { html: (html) => display.html(html), png: (png) => display.png(png) };
  return kernelSink;
}

function sinkOrThrow(sink: DisplaySink | undefined, caller: string): DisplaySink {
  const chosen = sink ?? tslabSink();
  if (!chosen) {
    throw new UserError(`${caller}: not inside a tslab kernel; pass a DisplaySink, or use figureHtml/imageHtml for the HTML`);
  }
  return chosen;
}

/**
 * Shows a plotly figure. The first figure sent to a sink also carries plotly.js (once per kernel
 * for tslab's display). Throws a UserError for WebGL trace types or outside a kernel without a sink.
 */
export function showPlot(figure: PlotlyFigure, sink?: DisplaySink): void {
  const out = sinkOrThrow(sink, 'showPlot');
  const html = figureHtml(figure);
  if (sinksWithPlotly.has(out)) {
    out.html(html);
    return;
  }
  out.html(plotlyLoaderHtml() + html);
  sinksWithPlotly.add(out);
}

/** Checks that `img` is a well-formed RgbImage; throws a UserError naming the caller otherwise. */
function checkImage(img: RgbImage, caller: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new UserError(`${caller}: image size ${width}x${height} is not positive integers`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new UserError(`${caller}: image data has ${data?.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
}

/** PNG bytes (8-bit RGB) of an RgbImage, encoded by sharp. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  checkImage(img, 'encodePng');
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}

export interface ImageDisplayOptions {
  /** Text under the image (HTML-escaped). */
  readonly caption?: string;
  /** Display size as a multiple of the pixel size (nearest-neighbour), e.g. 2 for a zoomed crop. Default 1. */
  readonly scale?: number;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * HTML for an image: a `<figure>` with the PNG as a data URL, `width`/`height` in CSS pixels
 * (`scale` times the image size, drawn pixelated), and the caption when given.
 */
export function imageHtml(png: Uint8Array, size: { width: number; height: number }, options: ImageDisplayOptions = {}): string {
  const scale = options.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`showImage: scale ${scale} must be a positive number`);
  const b64 = Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64');
  const w = Math.round(size.width * scale);
  const h = Math.round(size.height * scale);
  const alt = escapeHtml(options.caption ?? `image ${size.width}x${size.height}`);
  const caption = options.caption === undefined ? '' : `<figcaption>${escapeHtml(options.caption)}</figcaption>`;
  return `<figure class="ddtb-image" style="margin:0.5em 0;"><img src="data:image/png;base64,${b64}" `
    + `width="${w}" height="${h}" alt="${alt}" style="image-rendering:pixelated;" />${caption}</figure>\n`;
}

/**
 * Shows an image as a PNG: a plain `image/png` output when there is no caption and no scale,
 * else an HTML figure (`imageHtml`). Throws a UserError outside a kernel without a sink.
 */
export async function showImage(img: RgbImage, options: ImageDisplayOptions = {}, sink?: DisplaySink): Promise<void> {
  const out = sinkOrThrow(sink, 'showImage');
  const png = await encodePng(img);
  if (options.caption === undefined && (options.scale === undefined || options.scale === 1)) {
    out.png(png);
  } else {
    out.html(imageHtml(png, img, options));
  }
}
