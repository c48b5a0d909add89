/**
 * Plotly figure specs, as plain data, for the plots the notebooks keep drawing: histograms with
 * log counts and vertical level lines, bar charts with highlighted bars, line charts (with vertical
 * markers), scatter plots (optionally with the y = x diagonal), box plots, heatmaps, and a grid that
 * puts several of these figures side by side. Every builder returns a `PlotlyFigure` for `showPlot`
 * (or for `figureHtml` / a screenshot script); none draws anything itself, and only SVG trace types
 * are used (`bar`, `scatter`, `box`, `heatmap`), never WebGL ones.
 *
 * Numbers are plain `number[]`: typed arrays are accepted as input and copied.
 */
import { UserError } from '../errors';
import { PlotlyFigure, PlotlyTrace } from './display';

/** Colours of successive series (a colour-blind-friendly set). */
export const PALETTE: readonly string[] = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
/** Colour of highlighted bars. */
export const HIGHLIGHT_COLOR = '#d62728';
/** Colour of ordinary bars. */
export const BASE_COLOR = '#9db4cf';

export type Dash = 'solid' | 'dot' | 'dash' | 'longdash' | 'dashdot';

/** Options every builder takes. */
export interface FigureOptions {
  readonly title?: string;
  readonly xTitle?: string;
  readonly yTitle?: string;
  /** Container height in CSS pixels (default: display.ts's default). */
  readonly height?: number;
}

function titled(text: string | undefined): Record<string, unknown> | undefined {
  return text === undefined ? undefined : { text };
}

function baseLayout(options: FigureOptions): Record<string, unknown> {
  const layout: Record<string, unknown> = {
    margin: { l: 70, r: 30, t: options.title === undefined ? 30 : 60, b: 60 },
    // automargin: long category labels (layer names) grow the margin instead of being cut off.
    xaxis: { title: titled(options.xTitle), automargin: true },
    yaxis: { title: titled(options.yTitle), automargin: true },
  };
  if (options.title !== undefined) layout.title = { text: options.title };
  if (options.height !== undefined) layout.height = options.height;
  return layout;
}

function plain(values: ArrayLike<number>, what: string): number[] {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new UserError(`${what}: expected an array of numbers`);
  }
  return Array.from(values);
}

function sameLength(a: readonly unknown[], b: readonly unknown[], what: string): void {
  if (a.length !== b.length) throw new UserError(`${what}: ${a.length} x values but ${b.length} y values`);
}

// ---------------------------------------------------------------------------------------------
// Histograms

/** Bin counts: `edges` has bins + 1 ascending values, `counts[i]` counts values in [edges[i], edges[i+1]). */
export interface Histogram {
  readonly edges: number[];
  readonly counts: number[];
}

export interface HistogramOptions {
  /** Number of equal-width bins (default 100). */
  readonly bins?: number;
  /** [lo, hi] of the bins (default: min and max of the values). Values outside are not counted. */
  readonly range?: readonly [number, number];
}

/**
 * Counts `values` into equal-width bins over `range` (the last bin includes its upper edge, as numpy's
 * `histogram`). Example: [0, 1, 1, 2] with 2 bins gives edges [0, 1, 2] and counts [1, 3].
 * Non-finite values are an error (they would silently fall out of every bin).
 */
export function histogramCounts(values: ArrayLike<number>, options: HistogramOptions = {}): Histogram {
  const bins = options.bins ?? 100;
  if (!Number.isInteger(bins) || bins < 1) throw new UserError(`histogramCounts: bins must be a positive integer, got ${bins}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new UserError(`histogramCounts: non-finite value ${v} at index ${i}`);
    if (!options.range) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  if (options.range) [lo, hi] = options.range;
  if (values.length === 0 && !options.range) { lo = 0; hi = 1; }
  if (!(hi >= lo)) throw new UserError(`histogramCounts: range [${lo}, ${hi}] is empty`);
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo || v > hi) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1;
  }
  return { edges, counts };
}

/** One histogram to draw. */
export interface HistogramSeries extends Histogram {
  readonly name: string;
  readonly color?: string;
}

/** A set of vertical lines, e.g. the levels of one quantizer. */
export interface LevelSet {
  readonly name: string;
  readonly values: readonly number[];
  readonly color?: string;
  readonly dash?: Dash;
  /** Line width in pixels (default 2). */
  readonly width?: number;
}

export interface HistogramFigureOptions extends FigureOptions {
  /** Logarithmic count axis (default true): the tails of activation histograms stay visible. */
  readonly logCounts?: boolean;
  /** Vertical lines drawn over the bars, one legend entry per set. */
  readonly levels?: readonly LevelSet[];
  /** Bar opacity (default 0.75; overlaid histograms stay readable). */
  readonly opacity?: number;
}

/**
 * A histogram figure from pre-computed counts (`histogramCounts`), so a million activations become
 * a few hundred numbers in the notebook. Bars are drawn at the bin centres with the bin widths; each
 * `LevelSet` becomes one line trace of vertical segments spanning the count axis.
 */
export function histogramFigure(series: HistogramSeries | readonly HistogramSeries[], options: HistogramFigureOptions = {}): PlotlyFigure {
  const list: readonly HistogramSeries[] = Array.isArray(series) ? series : [series as HistogramSeries];
  const log = options.logCounts ?? true;
  let maxCount = 0;
  const data: PlotlyTrace[] = list.map((s, i) => {
    const edges = plain(s.edges, `histogramFigure: ${s.name} edges`);
    const counts = plain(s.counts, `histogramFigure: ${s.name} counts`);
    if (edges.length !== counts.length + 1) {
      throw new UserError(`histogramFigure: ${s.name} has ${edges.length} edges for ${counts.length} counts (need counts + 1)`);
    }
    for (const c of counts) maxCount = Math.max(maxCount, c);
    return {
      type: 'bar', name: s.name,
      x: counts.map((_, b) => (edges[b] + edges[b + 1]) / 2),
      y: counts,
      width: counts.map((_, b) => edges[b + 1] - edges[b]),
      marker: { color: s.color ?? PALETTE[i % PALETTE.length], line: { width: 0 } },
      opacity: options.opacity ?? 0.75,
      hovertemplate: '[%{customdata[0]:.4g}, %{customdata[1]:.4g}): %{y}<extra>' + s.name + '</extra>',
      customdata: counts.map((_, b) => [edges[b], edges[b + 1]]),
    };
  });
  const top = log ? Math.max(1, maxCount) * 2 : Math.max(1, maxCount) * 1.05;
  const bottom = log ? 0.7 : 0;
  for (const set of options.levels ?? []) data.push(verticalSegments(set, bottom, top, data.length));
  const layout = baseLayout({ yTitle: log ? 'count (log scale)' : 'count', ...options });
  layout.barmode = 'overlay';
  layout.bargap = 0;
  layout.yaxis = { ...(layout.yaxis as object), type: log ? 'log' : 'linear',
    range: log ? [Math.log10(bottom), Math.log10(top)] : [bottom, top] };
  return { data, layout };
}

/** One scatter trace of vertical segments at `set.values`, from y0 to y1 (null-separated). */
function verticalSegments(set: LevelSet, y0: number, y1: number, index: number): PlotlyTrace {
  const x: Array<number | null> = [];
  const y: Array<number | null> = [];
  for (const v of set.values) {
    if (!Number.isFinite(v)) throw new UserError(`level set ${set.name}: non-finite level ${v}`);
    x.push(v, v, null);
    y.push(y0, y1, null);
  }
  return {
    type: 'scatter', mode: 'lines', name: set.name, x, y, connectgaps: false,
    line: { color: set.color ?? PALETTE[index % PALETTE.length], dash: set.dash ?? 'solid', width: set.width ?? 2 },
    hovertemplate: `${set.name}: %{x:.4g}<extra></extra>`,
  };
}

// ---------------------------------------------------------------------------------------------
// Bars

export interface BarData {
  /** Category labels in display order. */
  readonly labels: readonly string[];
  readonly values: ArrayLike<number>;
  /** Which bars to highlight (same length as labels); default none. */
  readonly highlight?: readonly boolean[];
  /** Hover text per bar (default: label and value). */
  readonly hover?: readonly string[];
}

export interface BarFigureOptions extends FigureOptions {
  /** Legend names of the two bar groups (default "other" / "highlighted"). */
  readonly names?: { readonly base: string; readonly highlighted: string };
  readonly colors?: { readonly base: string; readonly highlighted: string };
  readonly logY?: boolean;
  /** Horizontal reference lines, e.g. a threshold. */
  readonly hlines?: readonly { readonly y: number; readonly label: string; readonly color?: string; readonly dash?: Dash }[];
}

/**
 * A bar chart over categories with some bars highlighted (e.g. dynamic intensity per quantizer with
 * the selected top ratio in red). The categories keep their given order; the two groups are two
 * traces, so the legend names them.
 */
export function barFigure(bars: BarData, options: BarFigureOptions = {}): PlotlyFigure {
  const labels = [...bars.labels];
  const values = plain(bars.values, 'barFigure: values');
  sameLength(labels, values, 'barFigure');
  const highlight = bars.highlight ?? labels.map(() => false);
  if (highlight.length !== labels.length) throw new UserError(`barFigure: ${highlight.length} highlight flags for ${labels.length} bars`);
  if (new Set(labels).size !== labels.length) throw new UserError('barFigure: labels must be unique (they are the categories)');
  const names = options.names ?? { base: 'other', highlighted: 'highlighted' };
  const colors = options.colors ?? { base: BASE_COLOR, highlighted: HIGHLIGHT_COLOR };
  const group = (on: boolean): PlotlyTrace => {
    const idx = labels.map((_, i) => i).filter((i) => highlight[i] === on);
    return {
      type: 'bar', name: on ? names.highlighted : names.base,
      x: idx.map((i) => labels[i]), y: idx.map((i) => values[i]),
      marker: { color: on ? colors.highlighted : colors.base },
      ...(bars.hover ? { text: idx.map((i) => bars.hover![i]), hoverinfo: 'text', textposition: 'none' } : {}),
    };
  };
  const data = [group(false), group(true)];
  const layout = baseLayout(options);
  layout.barmode = 'overlay';
  layout.xaxis = { ...(layout.xaxis as object), type: 'category', categoryorder: 'array', categoryarray: labels, tickangle: -60, automargin: true };
  if (options.logY) layout.yaxis = { ...(layout.yaxis as object), type: 'log' };
  if (options.hlines?.length) {
    layout.shapes = options.hlines.map((h) => ({ type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: h.y, y1: h.y,
      line: { color: h.color ?? '#444', dash: h.dash ?? 'dash', width: 1.5 } }));
    layout.annotations = options.hlines.map((h) => ({ xref: 'paper', x: 1, xanchor: 'right', yref: 'y', y: h.y,
      yanchor: 'bottom', text: h.label, showarrow: false, font: { size: 11 } }));
  }
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------
// Lines and scatter

export interface XySeries {
  readonly name: string;
  readonly x: ArrayLike<number> | readonly string[];
  readonly y: ArrayLike<number>;
  readonly color?: string;
  readonly dash?: Dash;
  /** Per-point hover text. */
  readonly text?: readonly string[];
}

export interface LineSeries extends XySeries {
  /** Default 'lines'. */
  readonly mode?: 'lines' | 'markers' | 'lines+markers';
}

/** A vertical marker line across the plot, e.g. "calibration" at iteration 1000. */
export interface VerticalMarker {
  readonly x: number;
  readonly label: string;
  readonly color?: string;
  readonly dash?: Dash;
}

export interface LineFigureOptions extends FigureOptions {
  readonly logX?: boolean;
  readonly logY?: boolean;
  readonly markers?: readonly VerticalMarker[];
}

function xyTrace(s: XySeries, i: number, mode: string): PlotlyTrace {
  const x = Array.from(s.x as ArrayLike<number | string>);
  const y = plain(s.y, `${s.name} y`);
  sameLength(x, y, `series ${s.name}`);
  if (s.text && s.text.length !== y.length) throw new UserError(`series ${s.name}: ${s.text.length} hover texts for ${y.length} points`);
  const color = s.color ?? PALETTE[i % PALETTE.length];
  return {
    type: 'scatter', mode, name: s.name, x, y,
    line: { color, dash: s.dash ?? 'solid', width: 2 }, marker: { color, size: 7 },
    ...(s.text ? { text: [...s.text], hovertemplate: '%{text}<extra>' + s.name + '</extra>' } : {}),
  };
}

/** A line chart of one or more series, with optional vertical markers (dashed lines with labels). */
export function lineFigure(series: readonly LineSeries[], options: LineFigureOptions = {}): PlotlyFigure {
  const data = series.map((s, i) => xyTrace(s, i, s.mode ?? 'lines'));
  const layout = baseLayout(options);
  if (options.logX) layout.xaxis = { ...(layout.xaxis as object), type: 'log' };
  if (options.logY) layout.yaxis = { ...(layout.yaxis as object), type: 'log' };
  const markers = options.markers ?? [];
  if (markers.length) {
    layout.shapes = markers.map((m) => ({ type: 'line', xref: 'x', x0: m.x, x1: m.x, yref: 'paper', y0: 0, y1: 1,
      line: { color: m.color ?? '#444', dash: m.dash ?? 'dash', width: 1.5 } }));
    layout.annotations = markers.map((m) => ({ xref: 'x', x: m.x, yref: 'paper', y: 1, yanchor: 'bottom',
      text: m.label, showarrow: false, font: { size: 11 } }));
  }
  return { data, layout };
}

export interface ScatterFigureOptions extends FigureOptions {
  /** Draw the y = x line over the data's range (e.g. learned against calibrated bounds). */
  readonly diagonal?: boolean;
  readonly logX?: boolean;
  readonly logY?: boolean;
}

/** A scatter plot (markers only) of one or more series. */
export function scatterFigure(series: readonly XySeries[], options: ScatterFigureOptions = {}): PlotlyFigure {
  const data = series.map((s, i) => xyTrace(s, i, 'markers'));
  if (options.diagonal) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      for (const v of [...Array.from(s.x as ArrayLike<number>), ...Array.from(s.y)]) {
        if (typeof v === 'number' && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    if (lo <= hi) {
      data.push({ type: 'scatter', mode: 'lines', name: 'y = x', x: [lo, hi], y: [lo, hi],
        line: { color: '#888', dash: 'dot', width: 1 }, hoverinfo: 'skip' });
    }
  }
  const layout = baseLayout(options);
  if (options.logX) layout.xaxis = { ...(layout.xaxis as object), type: 'log' };
  if (options.logY) layout.yaxis = { ...(layout.yaxis as object), type: 'log' };
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------
// Box plots and heatmaps

export interface BoxGroup {
  readonly name: string;
  readonly values: ArrayLike<number>;
  readonly color?: string;
}

/** One box per group (median, quartiles, whiskers, every point shown beside its box). */
export function boxFigure(groups: readonly BoxGroup[], options: FigureOptions = {}): PlotlyFigure {
  const data = groups.map((g, i) => ({
    type: 'box', name: g.name, y: plain(g.values, `boxFigure: ${g.name}`), boxpoints: 'all', jitter: 0.4, pointpos: 0,
    marker: { color: g.color ?? PALETTE[i % PALETTE.length], size: 4 },
  }));
  const layout = baseLayout(options);
  layout.showlegend = false;
  return { data, layout };
}

export interface HeatmapData {
  /** Column labels (length = columns of z). */
  readonly x: readonly (number | string)[];
  /** Row labels (length = rows of z). */
  readonly y: readonly (number | string)[];
  /** z[row][column]. */
  readonly z: readonly (readonly number[])[];
}

export interface HeatmapFigureOptions extends FigureOptions {
  /** A plotly colour scale: a name (default 'Viridis') or [position 0..1, colour] stops. */
  readonly colorscale?: string | ReadonlyArray<readonly [number, string]>;
  readonly zTitle?: string;
  /** Show the colour bar (default true). */
  readonly showScale?: boolean;
  /** First row at the top (default false: plotly draws the first row at the bottom). */
  readonly reversedY?: boolean;
}

/** A heatmap (SVG-drawn `heatmap` trace; never `heatmapgl`). */
export function heatmapFigure(map: HeatmapData, options: HeatmapFigureOptions = {}): PlotlyFigure {
  if (map.z.length !== map.y.length) throw new UserError(`heatmapFigure: ${map.z.length} rows of z for ${map.y.length} row labels`);
  map.z.forEach((row, r) => {
    if (row.length !== map.x.length) throw new UserError(`heatmapFigure: row ${r} has ${row.length} values for ${map.x.length} columns`);
  });
  const data: PlotlyTrace[] = [{
    type: 'heatmap', x: [...map.x], y: [...map.y], z: map.z.map((row) => [...row]),
    colorscale: typeof options.colorscale === 'string' || options.colorscale === undefined ? options.colorscale ?? 'Viridis'
      : options.colorscale.map(([at, colour]) => [at, colour]),
    showscale: options.showScale ?? true, colorbar: { title: titled(options.zTitle) },
    xgap: 1, ygap: 1,
  }];
  const layout = baseLayout(options);
  if (map.x.some((v) => typeof v === 'string')) layout.xaxis = { ...(layout.xaxis as object), type: 'category', automargin: true };
  if (map.y.some((v) => typeof v === 'string')) layout.yaxis = { ...(layout.yaxis as object), type: 'category', automargin: true };
  if (options.reversedY) layout.yaxis = { ...(layout.yaxis as object), autorange: 'reversed' };
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------
// Grids

export interface GridOptions {
  /** Panels per row (default: all in one row). */
  readonly columns?: number;
  readonly title?: string;
  /** Total height in CSS pixels (default 320 per row + the title). */
  readonly height?: number;
  /** Gaps between panels as fractions of the figure (defaults 0.08 and 0.12). */
  readonly hSpacing?: number;
  readonly vSpacing?: number;
}

function axisId(letter: 'x' | 'y', k: number): string {
  return k === 1 ? letter : `${letter}${k}`;
}

function refFor(ref: unknown, letter: 'x' | 'y', id: string): unknown {
  if (ref === undefined || ref === letter) return id;
  if (ref === 'paper') return `${id} domain`;
  if (ref === `${letter} domain`) return `${id} domain`;
  return ref;
}

/**
 * Several figures as panels of one figure (row-major), each keeping its traces, axis settings,
 * shapes and annotations; each panel's title becomes a label above it. Figures must use a single
 * x/y axis pair (those made by this file do). Traces of the same name share one legend entry.
 */
export function gridFigure(figures: readonly PlotlyFigure[], options: GridOptions = {}): PlotlyFigure {
  if (figures.length === 0) throw new UserError('gridFigure: no figures');
  const columns = Math.min(options.columns ?? figures.length, figures.length);
  if (!Number.isInteger(columns) || columns < 1) throw new UserError(`gridFigure: columns must be a positive integer, got ${options.columns}`);
  const rows = Math.ceil(figures.length / columns);
  const hs = options.hSpacing ?? 0.08;
  const vs = options.vSpacing ?? 0.12;
  const cellW = (1 - hs * (columns - 1)) / columns;
  const cellH = (1 - vs * (rows - 1)) / rows;
  const data: PlotlyTrace[] = [];
  const shapes: unknown[] = [];
  const annotations: unknown[] = [];
  const layout: Record<string, unknown> = {
    height: options.height ?? 320 * rows + (options.title ? 60 : 20),
    margin: { l: 70, r: 30, t: options.title ? 90 : 50, b: 60 },
    // Histogram panels give each bar its width, so the gap only spaces category bars.
    barmode: 'overlay',
  };
  if (options.title) layout.title = { text: options.title };
  const seen = new Set<string>();
  figures.forEach((fig, p) => {
    const k = p + 1;
    const col = p % columns;
    const row = Math.floor(p / columns);
    // Rounded (and +0 for -0) so float noise does not leak into the layout.
    const tidy = (v: number) => Math.min(1, Math.max(0, Number(v.toFixed(6)))) + 0;
    const xDomain = [tidy(col * (cellW + hs)), tidy(col * (cellW + hs) + cellW)];
    const yTop = 1 - row * (cellH + vs);
    const yDomain = [tidy(yTop - cellH), tidy(yTop)];
    const xid = axisId('x', k);
    const yid = axisId('y', k);
    const sub = (fig.layout ?? {}) as Record<string, unknown>;
    for (const t of fig.data) {
      if (t.xaxis !== undefined && t.xaxis !== 'x') throw new UserError(`gridFigure: panel ${k} uses axis ${String(t.xaxis)}; only single-axis figures can be combined`);
      const name = typeof t.name === 'string' ? t.name : undefined;
      const repeat = name !== undefined && seen.has(name);
      if (name !== undefined) seen.add(name);
      data.push({ ...t, xaxis: xid, yaxis: yid, ...(name !== undefined ? { legendgroup: name, showlegend: !repeat && t.showlegend !== false } : {}) });
    }
    layout[`xaxis${k === 1 ? '' : k}`] = { ...((sub.xaxis as object) ?? {}), domain: xDomain, anchor: yid };
    layout[`yaxis${k === 1 ? '' : k}`] = { ...((sub.yaxis as object) ?? {}), domain: yDomain, anchor: xid };
    for (const s of (sub.shapes as Array<Record<string, unknown>> | undefined) ?? []) {
      shapes.push({ ...s, xref: refFor(s.xref, 'x', xid), yref: refFor(s.yref, 'y', yid) });
    }
    for (const a of (sub.annotations as Array<Record<string, unknown>> | undefined) ?? []) {
      annotations.push({ ...a, xref: refFor(a.xref, 'x', xid), yref: refFor(a.yref, 'y', yid) });
    }
    const title = (sub.title as { text?: string } | undefined)?.text;
    if (title) {
      annotations.push({ xref: 'paper', yref: 'paper', x: (xDomain[0] + xDomain[1]) / 2, y: yDomain[1], xanchor: 'center',
        yanchor: 'bottom', yshift: 6, text: title, showarrow: false, font: { size: 13 } });
    }
  });
  if (shapes.length) layout.shapes = shapes;
  if (annotations.length) layout.annotations = annotations;
  return { data, layout };
}
