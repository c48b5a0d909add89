/**
 * What `ddtb bench` prints: the comparison table, the `--json` object (numbers rounded for reading),
 * and the RSS-stability summary of `--rss`.
 */
import { MetricSummary } from './runner';
import { RssReport } from './worker';
import { median, round, slope } from './stats';

/** Header lines and settings carried into the JSON under `meta`. */
export interface BenchMeta {
  readonly description: string;
  readonly rounds: number;
  readonly threads: number;
  readonly backend: string;
  readonly peer: string;
  /** Anything that makes the numbers doubtful (the addon rebuilt mid-run, a process on other kernels). */
  readonly warnings?: readonly string[];
  readonly [key: string]: unknown;
}

function rounded(s: MetricSummary): MetricSummary {
  const r2 = (v: number | null) => (v === null ? null : round(v, 2));
  return {
    ...s,
    ours_ms: round(s.ours_ms, 2), peer_ms: round(s.peer_ms, 2), ratio: round(s.ratio, 3),
    iqr: [round(s.iqr[0], 2), round(s.iqr[1], 2)], peer_iqr: [round(s.peer_iqr[0], 2), round(s.peer_iqr[1], 2)],
    peer_layouts_ms: Object.fromEntries(Object.entries(s.peer_layouts_ms).map(([k, v]) => [k, round(v, 2)])),
    peak_rss_mb: r2(s.peak_rss_mb) ?? null, peer_peak_rss_mb: r2(s.peer_peak_rss_mb),
    ...(s.gflops === undefined ? {} : { gflops: round(s.gflops, 0), peer_gflops: round(s.peer_gflops ?? NaN, 0) }),
  };
}

/** The `--json` object: one entry per metric (`fp_train`, ..., `conv_fwd`, ...) and `meta`. */
export function benchJson(results: Readonly<Record<string, MetricSummary>>, meta: BenchMeta): Record<string, unknown> {
  return { ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, rounded(v)])), meta };
}

function fixed(v: number | null | undefined, digits: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** The comparison table, one row per metric. */
export function benchTable(results: Readonly<Record<string, MetricSummary>>, meta: BenchMeta): string {
  const header = ['task', 'ours ms', 'IQR (ours)', 'peer ms', 'layout', 'ratio', 'RSS MB', 'peer RSS', 'tensors', 'GFLOP/s'];
  const rows = Object.entries(results).map(([name, s]) => [
    name, fixed(s.ours_ms, 1), `${fixed(s.iqr[0], 1)}-${fixed(s.iqr[1], 1)}`, fixed(s.peer_ms, 1),
    s.peer_layout === 'torch_cl' ? 'CL' : 'NCHW', fixed(s.ratio, 2), fixed(s.peak_rss_mb, 0), fixed(s.peer_peak_rss_mb, 0),
    s.tensors_before === null ? '-' : `${s.tensors_before}->${s.tensors_after}`,
    s.gflops === undefined ? '' : `${fixed(s.gflops, 0)} / ${fixed(s.peer_gflops, 0)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [
    meta.description,
    `${meta.rounds} rounds, ${meta.threads} threads; ours: ${meta.backend}; peer: ${meta.peer}`,
    'ms: median over rounds of each process\'s median step; ratio = ours / peer (faster layout); GFLOP/s ours / peer',
    '',
    line(header),
    ...rows.map(line),
  ].join('\n');
}

/** RSS stability over iterations [from, to] (1-based, inclusive) of one long DDTB training process. */
export interface RssSummary {
  readonly from: number;
  readonly to: number;
  /** Least-squares slope of VmRSS over the window, MB per 100 iterations. */
  readonly slope_mb_per_100_iterations: number;
  /** max - min of VmRSS over the window, MB. */
  readonly max_min_mb: number;
  readonly rss_at_from_mb: number;
  readonly rss_at_to_mb: number;
  readonly peak_rss_mb: number;
  readonly tensors: Readonly<Record<string, number>>;
  readonly median_step_ms: number;
}

export function rssSummary(report: RssReport, from: number): RssSummary {
  const to = report.iterations;
  if (!(from >= 1 && from < to)) throw new Error(`rssSummary: the window start ${from} must be in [1, ${to})`);
  const window = report.rss_mb.slice(from - 1, to);
  const iterations = window.map((_, i) => from + i);
  return {
    from, to,
    slope_mb_per_100_iterations: round(slope(iterations, window) * 100, 3),
    max_min_mb: round(Math.max(...window) - Math.min(...window), 2),
    rss_at_from_mb: round(window[0], 1), rss_at_to_mb: round(window[window.length - 1], 1),
    peak_rss_mb: round(report.peak_rss_mb, 1), tensors: report.tensors,
    median_step_ms: round(median(report.ms.slice(from - 1)), 1),
  };
}

export function rssTable(s: RssSummary, backend: string): string {
  return [
    `RSS stability of the DDTB training step, iterations ${s.from}-${s.to} (one process; ${backend})`,
    `  slope       ${s.slope_mb_per_100_iterations} MB per 100 iterations`,
    `  max - min   ${s.max_min_mb} MB  (${s.rss_at_from_mb} MB at ${s.from}, ${s.rss_at_to_mb} MB at ${s.to}; peak ${s.peak_rss_mb} MB)`,
    `  tensors     ${Object.entries(s.tensors).map(([k, v]) => `${v} ${k.replace('_', ' ')}`).join(', ')}`,
    `  step        ${s.median_step_ms} ms median over the window`,
  ].join('\n');
}
