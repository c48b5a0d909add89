/**
 * Small HTML tables for notebooks (per-layer statistics, results): rows of plain values in, one
 * `<table>` out. Numbers are formatted to a fixed number of significant digits (per column if
 * wanted), so a table of float32 statistics stays readable.
 */
import { UserError } from '../errors';
import { DisplaySink, tslabSink } from './display';

export type Cell = string | number | boolean | null;
export type Row = Readonly<Record<string, Cell>>;

export interface TableOptions {
  /** Significant digits of numbers: one value for all columns, or per column (default 4). */
  readonly digits?: number | Readonly<Record<string, number>>;
  /** Columns in order (default: the keys of the first row, then any new keys of later rows). */
  readonly columns?: readonly string[];
  readonly caption?: string;
  /** Rows to highlight (bold), by index. */
  readonly highlight?: readonly number[];
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number to `digits` significant digits; integers are written in full. */
export function formatNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return v.toExponential(Math.max(0, digits - 1));
  return String(Number(v.toPrecision(digits)));
}

function columnsOf(rows: readonly Row[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** The HTML of a table of `rows`. */
export function tableHtml(rows: readonly Row[], options: TableOptions = {}): string {
  if (!Array.isArray(rows)) throw new UserError('tableHtml: rows must be an array of objects');
  const columns = options.columns ?? columnsOf(rows);
  const digitsOf = (col: string) => (typeof options.digits === 'number' ? options.digits : options.digits?.[col]) ?? 4;
  const bold = new Set(options.highlight ?? []);
  const cell = (col: string, v: Cell | undefined) => {
    if (v === undefined || v === null) return '<td></td>';
    if (typeof v === 'number') return `<td style="text-align:right;font-variant-numeric:tabular-nums;">${formatNumber(v, digitsOf(col))}</td>`;
    return `<td style="text-align:left;">${escapeHtml(String(v))}</td>`;
  };
  const head = columns.map((c) => `<th style="text-align:center;">${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r, i) => `<tr${bold.has(i) ? ' style="font-weight:bold;"' : ''}>${columns.map((c) => cell(c, r[c])).join('')}</tr>`).join('\n');
  const caption = options.caption ? `<caption style="caption-side:top;text-align:left;">${escapeHtml(options.caption)}</caption>` : '';
  return `<table class="ddtb-table" style="border-collapse:collapse;font-size:0.9em;">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>\n`;
}

/** Shows a table in the notebook (tslab's display, or `sink`). */
export function showTable(rows: readonly Row[], options: TableOptions = {}, sink?: DisplaySink): void {
  const out = sink ?? tslabSink();
  if (!out) throw new UserError('showTable: not inside a tslab kernel; pass a DisplaySink, or use tableHtml for the HTML');
  out.html(tableHtml(rows, options));
}
