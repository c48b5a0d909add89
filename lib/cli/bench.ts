/**
 * `ddtb bench` (`npm run bench`): our training and inference steps against the PyTorch peer on this
 * machine, interleaved A/B in separate processes, plus the conv kernels' GFLOP/s; `--rss` measures
 * RSS stability of a long DDTB training process instead. A benchmark, not a test.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, OptionValues } from './command';
import { ensureBackend, describeBackend, nativeAddonPath } from '../backend';
import { parseBenchOptions, BenchSettings } from '../bench/options';
import { BENCH_JOBS, DEFAULT_SHAPE, BenchShape, convFlops, metricsOf, BenchJob, CONV_PASSES } from '../bench/tasks';
import { runWorker, runRssWorker } from '../bench/worker';
import { oursSide, peerSide, Measurement, runJsonProcess, NATIVE_MISSING_STATUS } from '../bench/sides';
import { UserError } from '../errors';
import { runRounds, summarize, RoundData } from '../bench/runner';
import { benchJson, benchTable, rssSummary, rssTable, BenchMeta } from '../bench/report';
import { writeBytesAtomic } from '../io/atomic_write';
import { outDir } from '../paths';
import { round } from '../bench/stats';

function describeShape(s: BenchShape): string {
  return `EDSR ${s.blocks}x${s.feats} x${s.scale}; training: batch ${s.batch}, LR ${s.patch}x${s.patch}; ` +
    `DDTB ${s.bits}-bit, gates on ${Math.round(s.dynamicRatio * 100)}% of the quantizers, second-stage step (dynamic bounds, no regulariser); ` +
    `inference: 1x${s.height}x${s.width} LR; conv ${s.batch}x${s.patch}x${s.patch}x${s.feats} 3x3`;
}

/** The addon file's modification time (ms), or null when absent. */
function addonModified(): number | null {
  try {
    return fs.statSync(nativeAddonPath).mtimeMs;
  } catch {
    return null;
  }
}

function short(m: Measurement): string {
  return Object.entries(m.metrics).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ') + (m.peakRssMb === null ? '' : `, peak RSS ${m.peakRssMb.toFixed(0)} MB`);
}

async function peerVersion(settings: BenchSettings): Promise<string> {
  const r = await runJsonProcess('the peer interpreter', settings.python,
    ['-c', 'import json, torch; print(json.dumps({"torch": torch.__version__}))'], process.env) as { torch: string };
  return `PyTorch ${r.torch} (${settings.python}), GLIBC_TUNABLES ${settings.peerEnv === 'same' ? 'as ours' : 'unset'}`;
}

async function compare(settings: BenchSettings): Promise<void> {
  const info = ensureBackend();
  const backend = describeBackend(info);
  const peer = await peerVersion(settings);
  const sideSettings = {
    shape: settings.shape, plans: settings.plans, threads: settings.threads, python: settings.python, peerEnv: settings.peerEnv,
    // a worker started while the addon is being rebuilt would run on pure JS: it stops, and is run again
    requireNative: info.native.loaded,
  };
  const sides = [oursSide(sideSettings), peerSide(sideSettings, false), peerSide(sideSettings, true)];
  const started = Date.now();
  const addonTime = addonModified();
  const warnings = new Set<string>();
  console.error(`ddtb bench: ${settings.rounds} rounds of ${settings.jobs.join(', ')} (ours, torch NCHW, torch channels-last; ${settings.threads} threads)`);
  const conv = new Set<string>(CONV_PASSES);
  const file = path.join(outDir, 'bench', `bench-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`);
  const summarizeData = (data: RoundData, rounds: number) => {
    const results = summarize(data, (job) => metricsOf(job as BenchJob), (metric) => (conv.has(metric) ? convFlops(settings.shape) : null));
    if (addonModified() !== addonTime) warnings.add('the native addon was rebuilt during the run: rounds before and after differ');
    const meta: BenchMeta = {
      description: describeShape(settings.shape), rounds, threads: settings.threads, backend, peer,
      iterations: settings.plans, layout_rounds: settings.layoutRounds, shape: settings.shape, quick: settings.quick,
      seconds: Math.round((Date.now() - started) / 1000), date: new Date().toISOString(), warnings: [...warnings],
    };
    return { results, meta, json: benchJson(results, meta) };
  };
  const data = await runRounds(settings.jobs, settings.rounds, sides, {
    pickAfter: settings.layoutRounds,
    metricsOf: (job) => metricsOf(job as BenchJob),
    onEvent: (e) => {
      if (e.measurement.backend !== undefined && e.measurement.backend !== backend) warnings.add(`a process of ours ran on '${e.measurement.backend}', not '${backend}'`);
      console.error(`  round ${e.round}/${e.rounds} ${e.job.padEnd(10)} ${e.side.padEnd(8)} ${short(e.measurement)}  [${Math.round((Date.now() - started) / 1000)} s]`);
    },
    // the results so far, after every round: an interrupted run still leaves its complete rounds
    onRound: async (round, soFar) => writeBytesAtomic(file, Buffer.from(`${JSON.stringify(summarizeData(soFar, round).json, null, 2)}\n`)),
  });
  const { results, meta, json } = summarizeData(data, settings.rounds);
  await writeBytesAtomic(file, Buffer.from(`${JSON.stringify(json, null, 2)}\n`));
  const table = benchTable(results, meta) + (warnings.size ? `\nwarning: ${[...warnings].join('; ')}` : '');
  // With --json the table goes to stderr, so stdout is the JSON object alone.
  (settings.json ? console.error : console.log)(`${table}\n\n(written to ${path.relative(process.cwd(), file)})`);
  if (settings.json) console.log(JSON.stringify(json, null, 2));
}

function rss(settings: BenchSettings): void {
  const backend = describeBackend(ensureBackend());
  console.error(`ddtb bench --rss: ${settings.rssIterations} DDTB training iterations in this process (${describeShape(settings.shape)})`);
  const report = runRssWorker(settings.shape, settings.rssIterations);
  const summary = rssSummary(report, settings.rssFrom);
  (settings.json ? console.error : console.log)(rssTable(summary, backend));
  if (settings.json) console.log(JSON.stringify({ rss: { ...summary, rss_mb: report.rss_mb.map((v) => round(v, 1)), backend } }, null, 2));
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark training and inference steps against the PyTorch peer (interleaved processes), or RSS stability',
  details: [
    'Tasks: fp_train, ddtb_train (second-stage step: teacher + student + L1 + 1000 x AT + Adam with the bound group),',
    'fp_infer, ddtb_infer (one LR image), conv (3x3 conv forward / input gradient / filter gradient, GFLOP/s).',
    'Each round runs every task once per side in its own process (ours through bin/ddtb; the peer NCHW and',
    'channels-last), alternating who goes first; results are medians over rounds of per-process medians.',
    'Results are also written to out/bench/. A benchmark, not a test: nothing here asserts a time.',
  ].join('\n'),
  options: {
    rounds: { type: 'string', value: 'N', help: 'A/B rounds (default 15; --quick 3)' },
    tasks: { type: 'string', value: 'LIST', help: `comma-separated subset of ${BENCH_JOBS.join(',')}` },
    quick: { type: 'boolean', help: 'smoke check: 3 rounds, fewer iterations per process' },
    json: { type: 'boolean', help: 'print the results as JSON on stdout (the table goes to stderr)' },
    'layout-rounds': { type: 'string', value: 'N', help: 'rounds in which the peer runs both NCHW and channels-last; then only the faster per task (default 3)' },
    rss: { type: 'boolean', help: 'instead: RSS of one DDTB training process sampled every iteration (slope, max-min)' },
    'rss-iterations': { type: 'string', value: 'N', help: 'iterations of the --rss process (default 200; --quick 20)' },
    'rss-from': { type: 'string', value: 'N', help: 'first iteration of the --rss window (default 50; --quick 5)' },
    warmup: { type: 'string', value: 'N', help: 'untimed iterations per process for the model tasks (default 2)' },
    steps: { type: 'string', value: 'N', help: 'timed iterations per process for the model tasks (default 5 training, 10 inference)' },
    threads: { type: 'string', value: 'N', help: 'threads on both sides (default OMP_NUM_THREADS, else the core count)' },
    python: { type: 'string', value: 'FILE', help: "the peer's interpreter, with torch (default /usr/bin/python3)" },
    'peer-env': { type: 'string', value: 'same|plain', help: "'plain' runs the peer without our launcher's GLIBC_TUNABLES (default same)" },
    blocks: { type: 'string', value: 'N', help: `EDSR residual blocks (default ${DEFAULT_SHAPE.blocks})` },
    feats: { type: 'string', value: 'N', help: `EDSR feature channels (default ${DEFAULT_SHAPE.feats})` },
    scale: { type: 'string', value: 'N', help: `upscaling factor (default ${DEFAULT_SHAPE.scale})` },
    bits: { type: 'string', value: 'N', help: `DDTB bit width (default ${DEFAULT_SHAPE.bits})` },
    'dynamic-ratio': { type: 'string', value: 'R', help: `share of the quantizers with gates (default ${DEFAULT_SHAPE.dynamicRatio})` },
    batch: { type: 'string', value: 'N', help: `training batch (default ${DEFAULT_SHAPE.batch})` },
    patch: { type: 'string', value: 'N', help: `training LR patch side (default ${DEFAULT_SHAPE.patch})` },
    height: { type: 'string', value: 'N', help: `inference LR height (default ${DEFAULT_SHAPE.height})` },
    width: { type: 'string', value: 'N', help: `inference LR width (default ${DEFAULT_SHAPE.width})` },
    seed: { type: 'string', value: 'N', help: `seed of weights and inputs (default ${DEFAULT_SHAPE.seed})` },
    worker: { type: 'string', value: 'TASK', help: '(internal) run one task in this process and print one JSON line' },
    'require-native': { type: 'boolean', help: `(internal, with --worker) exit with status ${NATIVE_MISSING_STATUS} unless the native kernels are loaded` },
  },
  async run(options: OptionValues) {
    const settings = parseBenchOptions(options);
    if (settings.mode === 'worker') {
      const info = ensureBackend();
      if (settings.requireNative && !info.native.loaded) {
        throw new UserError(`bench --worker ${settings.worker!}: native kernels not loaded (${info.native.reason ?? 'unknown'})`, NATIVE_MISSING_STATUS);
      }
      console.log(JSON.stringify(runWorker(settings.worker!, settings.shape, settings.plans[settings.worker!])));
      return 0;
    }
    if (settings.mode === 'rss') rss(settings);
    else await compare(settings);
    return 0;
  },
};
