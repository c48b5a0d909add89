/**
 * Interleaved A/B rounds and their summary.
 *
 * A round runs every job once on every side, one process at a time: in even rounds ours first, in
 * odd rounds the peer's layouts first, so a slow drift of the machine's load falls on both sides.
 * Each process reports its own median (warm-up excluded); a metric's result is the median over
 * rounds of those per-round medians, with the inter-quartile range over rounds. The peer's figure is
 * its faster layout (NCHW or channels-last) by that median. To save time, the layouts of a job can
 * be compared over the first `pickAfter` rounds only: after that, a peer side that was slower than
 * another on every metric of the job is not run for it again (its rounds so far stay in the data and
 * in `peer_layouts_ms`, but only sides with every round are compared).
 */
import { Measurement, Side } from './sides';
import { median, quartiles } from './stats';

/** Every process's measurement: job -> side name -> one entry per round. */
export type RoundData = Record<string, Record<string, Measurement[]>>;

export interface RoundEvent {
  readonly round: number;
  readonly rounds: number;
  readonly job: string;
  readonly side: string;
  readonly measurement: Measurement;
}

export interface RoundOptions {
  /** Called after every process. */
  readonly onEvent?: (e: RoundEvent) => void;
  /** Called after every complete round with the data so far. */
  readonly onRound?: (round: number, data: RoundData) => Promise<void> | void;
  /** Rounds after which a job's dominated peer sides stop (default: never). */
  readonly pickAfter?: number;
  /** A job's metrics (for the dominance test; default: the job name alone). */
  readonly metricsOf?: (job: string) => readonly string[];
}

/** Peer sides of `job` slower than another peer side on every metric (median over their rounds). */
export function dominatedPeers(job: string, bySide: Record<string, Measurement[]>, peers: readonly Side[], metrics: readonly string[]): Set<string> {
  const med = (name: string, metric: string) => median(bySide[name].map((m) => m.metrics[metric]));
  const out = new Set<string>();
  for (const a of peers) {
    if (peers.some((b) => b !== a && metrics.every((m) => med(b.name, m) < med(a.name, m)))) out.add(a.name);
  }
  return out;
}

/** Runs `rounds` rounds of `jobs` over `sides` (one `ours` side and any number of peer sides). */
export async function runRounds(jobs: readonly string[], rounds: number, sides: readonly Side[], options: RoundOptions = {}): Promise<RoundData> {
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`runRounds: rounds must be a positive integer, got ${rounds}`);
  if (sides.filter((s) => s.role === 'ours').length !== 1) throw new Error('runRounds: needs exactly one side of ours');
  const data: RoundData = {};
  for (const job of jobs) data[job] = Object.fromEntries(sides.map((s) => [s.name, [] as Measurement[]]));
  const oursFirst = [...sides].sort((a, b) => (a.role === b.role ? 0 : a.role === 'ours' ? -1 : 1));
  const peerFirst = [...oursFirst.slice(1), oursFirst[0]];
  const peers = sides.filter((s) => s.role === 'peer');
  const dropped: Record<string, Set<string>> = Object.fromEntries(jobs.map((j) => [j, new Set<string>()]));
  for (let round = 0; round < rounds; round++) {
    if (options.pickAfter !== undefined && round === options.pickAfter) {
      for (const job of jobs) dropped[job] = dominatedPeers(job, data[job], peers, options.metricsOf?.(job) ?? [job]);
    }
    for (const job of jobs) {
      for (const side of round % 2 === 0 ? oursFirst : peerFirst) {
        if (dropped[job].has(side.name)) continue;
        const measurement = await side.run(job);
        data[job][side.name].push(measurement);
        options.onEvent?.({ round: round + 1, rounds, job, side: side.name, measurement });
      }
    }
    await options.onRound?.(round + 1, data);
  }
  return data;
}

/** One metric's result (the `--json` entry). Times in ms, memory in MB. */
export interface MetricSummary {
  /** Median over rounds of our per-round medians. */
  readonly ours_ms: number;
  /** The same for the peer's faster layout. */
  readonly peer_ms: number;
  /** ours_ms / peer_ms: below 1 is faster than PyTorch. */
  readonly ratio: number;
  /** Our inter-quartile range over rounds, [q25, q75]. */
  readonly iqr: [number, number];
  readonly peer_iqr: [number, number];
  /** The peer side compared (`torch` NCHW or `torch_cl` channels-last), and every layout's median over its rounds. */
  readonly peer_layout: string;
  readonly peer_layouts_ms: Readonly<Record<string, number>>;
  /** Largest process peak RSS over rounds (ours; the compared peer layout's); null if not reported. */
  readonly peak_rss_mb: number | null;
  readonly peer_peak_rss_mb: number | null;
  /** Tensor count after the first iteration and after the last, from the round where they differ most. */
  readonly tensors_before: number | null;
  readonly tensors_after: number | null;
  /** Achieved GFLOP/s (conv passes only): flops / median time. */
  readonly gflops?: number;
  readonly peer_gflops?: number;
  readonly rounds: number;
}

function maxOrNull(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}

/**
 * Summarises `data` per metric. `metricsOf(job)` lists a job's metrics; `flopsOf(metric)` gives the
 * floating-point operations of one call where GFLOP/s should be reported (else null).
 */
export function summarize(data: RoundData, metricsOf: (job: string) => readonly string[],
  flopsOf: (metric: string) => number | null = () => null): Record<string, MetricSummary> {
  const out: Record<string, MetricSummary> = {};
  for (const [job, bySide] of Object.entries(data)) {
    const oursName = Object.keys(bySide).find((n) => n === 'ours');
    if (!oursName) throw new Error(`summarize: job '${job}' has no measurements of ours`);
    const ours = bySide[oursName];
    const peers = Object.entries(bySide).filter(([n]) => n !== oursName);
    const complete = peers.filter(([, m]) => m.length === ours.length);
    if (ours.length === 0 || complete.length === 0) throw new Error(`summarize: job '${job}' is missing rounds on one side`);
    for (const metric of metricsOf(job)) {
      const series = (ms: readonly Measurement[]) => ms.map((m) => {
        const v = m.metrics[metric];
        if (typeof v !== 'number') throw new Error(`summarize: a measurement of '${job}' lacks metric '${metric}'`);
        return v;
      });
      const oursSeries = series(ours);
      const peerMedians = peers.filter(([, ms]) => ms.length > 0).map(([name, ms]) => ({ name, ms, values: series(ms), median: median(series(ms)) }));
      // only a side measured in every round is compared (a layout dropped after the pick is not)
      const best = peerMedians.filter((p) => p.ms.length === ours.length).reduce((a, b) => (b.median < a.median ? b : a));
      const oursMedian = median(oursSeries);
      const worst = ours.reduce((a, b) => ((b.tensorsAfter ?? 0) - (b.tensorsBefore ?? 0) > (a.tensorsAfter ?? 0) - (a.tensorsBefore ?? 0) ? b : a));
      const flops = flopsOf(metric);
      out[metric] = {
        ours_ms: oursMedian,
        peer_ms: best.median,
        ratio: oursMedian / best.median,
        iqr: quartiles(oursSeries),
        peer_iqr: quartiles(best.values),
        peer_layout: best.name,
        peer_layouts_ms: Object.fromEntries(peerMedians.map((p) => [p.name, p.median])),
        peak_rss_mb: maxOrNull(ours.map((m) => m.peakRssMb)),
        peer_peak_rss_mb: maxOrNull(best.ms.map((m) => m.peakRssMb)),
        tensors_before: worst.tensorsBefore,
        tensors_after: worst.tensorsAfter,
        ...(flops === null ? {} : { gflops: flops / oursMedian / 1e6, peer_gflops: flops / best.median / 1e6 }),
        rounds: ours.length,
      };
    }
  }
  return out;
}
