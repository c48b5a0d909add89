/**
 * The benchmark harness on fake sides and tiny shapes: statistics, option parsing, the interleaving
 * order, the summary and JSON shape, process output parsing, the peer's choice of dynamic layers, and
 * the flat tensor count of our task definitions. Nothing here measures or asserts a time.
 */
import { test } from 'node:test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as assert from 'node:assert/strict';
import { median, quantile, quartiles, slope } from '../../lib/bench/stats';
import { parseBenchOptions, DEFAULT_PLANS, QUICK_PLANS } from '../../lib/bench/options';
import { runRounds, summarize, dominatedPeers } from '../../lib/bench/runner';
import { Measurement, Side, runJsonProcess, oursSide, ProcessFailure, NATIVE_MISSING_STATUS } from '../../lib/bench/sides';
import { benchJson, benchTable, rssSummary } from '../../lib/bench/report';
import { peerDynamicLayers, BENCH_JOBS, BenchShape, DEFAULT_SHAPE, convFlops } from '../../lib/bench/tasks';
import { runWorker } from '../../lib/bench/worker';
import { quantGraphFor } from '../../lib/models/factory';
import { UserError } from '../../lib/errors';

test('quantiles interpolate linearly as numpy does; median, quartiles and slope', () => {
  // numpy.percentile([5,1,4,2,3,9], [25,50,75]) = [2.25, 3.5, 4.75]
  assert.equal(quantile([5, 1, 4, 2, 3, 9], 0.25), 2.25);
  assert.equal(median([5, 1, 4, 2, 3, 9]), 3.5);
  assert.deepEqual(quartiles([5, 1, 4, 2, 3, 9]), [2.25, 4.75]);
  assert.equal(median([7]), 7);
  assert.deepEqual(quartiles([12.5, 10, 11]), [10.5, 11.75]);
  const input = [3, 1, 2];
  median(input);
  assert.deepEqual(input, [3, 1, 2], 'the input is not reordered');
  assert.ok(Math.abs(slope([1, 2, 3, 4], [3, 5, 7, 9]) - 2) < 1e-12);
  assert.equal(slope([1, 2, 3], [4, 4, 4]), 0);
  assert.throws(() => median([]), /no values/);
  assert.throws(() => median([1, NaN]), /not finite/);
  assert.throws(() => slope([2, 2], [1, 3]), /every x is the same/);
});

test('options: defaults, --quick, --tasks, overrides and errors that name the option', () => {
  const d = parseBenchOptions({}, { OMP_NUM_THREADS: '3' });
  assert.equal(d.mode, 'compare');
  assert.equal(d.rounds, 15);
  assert.deepEqual(d.jobs, [...BENCH_JOBS]);
  assert.equal(d.threads, 3);
  assert.deepEqual(d.plans, DEFAULT_PLANS);
  assert.deepEqual(d.shape, DEFAULT_SHAPE);
  assert.equal(d.peerEnv, 'same');
  assert.deepEqual([d.rssIterations, d.rssFrom], [200, 50]);

  const q = parseBenchOptions({ quick: true, tasks: 'ddtb_train, conv,ddtb_train', json: true }, {});
  assert.equal(q.rounds, 3);
  assert.deepEqual(q.jobs, ['ddtb_train', 'conv']);
  assert.deepEqual(q.plans, QUICK_PLANS);
  assert.equal(q.json, true);
  assert.deepEqual([q.rssIterations, q.rssFrom], [20, 5]);

  const o = parseBenchOptions({ rounds: '4', warmup: '1', steps: '3', threads: '2', batch: '2', 'dynamic-ratio': '0.5' }, {});
  assert.equal(o.rounds, 4);
  assert.deepEqual(o.plans.ddtb_train, { warmup: 1, steps: 3 });
  assert.deepEqual(o.plans.conv, DEFAULT_PLANS.conv, 'conv keeps its own plan in the parent');
  assert.equal(o.shape.batch, 2);
  assert.equal(o.shape.dynamicRatio, 0.5);
  const w = parseBenchOptions({ worker: 'conv', warmup: '2', steps: '4' }, {});
  assert.equal(w.mode, 'worker');
  assert.deepEqual(w.plans.conv, { warmup: 2, steps: 4 }, 'a worker takes the plan it is given');
  assert.equal(parseBenchOptions({ rss: true }, {}).mode, 'rss');

  const fails: Array<[Record<string, string | boolean>, RegExp]> = [
    [{ rounds: '0' }, /^--rounds: '0' is not an integer >= 1$/],
    [{ rounds: 'x' }, /^--rounds: 'x'/],
    [{ tasks: 'fp_train,train' }, /^--tasks: unknown task 'train' \(tasks: fp_train, ddtb_train, fp_infer, ddtb_infer, conv\)$/],
    [{ tasks: '' }, /^--tasks needs/],
    [{ worker: 'nope' }, /^--worker: unknown task 'nope'/],
    [{ 'dynamic-ratio': '1.5' }, /^--dynamic-ratio: '1.5' is not a number in \[0, 1\]$/],
    [{ scale: '5' }, /^--scale: 5 is not 2, 3 or 4/],
    [{ 'peer-env': 'other' }, /^--peer-env: 'other'/],
    [{ 'rss-from': '30', 'rss-iterations': '20' }, /^--rss-from: 30 must be below --rss-iterations \(20\)$/],
  ];
  for (const [values, re] of fails) assert.throws(() => parseBenchOptions(values, {}), (e: unknown) => e instanceof UserError && re.test(e.message));
});

/** A fake side: replays scripted per-round numbers and logs the order it was called in. */
function fakeSide(name: string, role: 'ours' | 'peer', perRound: number[], log: string[], rss: number | null): Side {
  const calls: Record<string, number> = {};
  return {
    name, role,
    async run(job: string): Promise<Measurement> {
      const i = calls[job] ?? 0;
      calls[job] = i + 1;
      log.push(`${job}:${name}`);
      const v = perRound[i];
      return {
        metrics: job === 'pair' ? { pair_a: v, pair_b: 2 * v } : { [job]: v },
        peakRssMb: rss === null ? null : rss + i, tensorsBefore: role === 'ours' ? 10 : null, tensorsAfter: role === 'ours' ? 10 + (i === 1 ? 2 : 0) : null,
      };
    },
  };
}

test('rounds interleave the sides one process at a time and alternate who goes first', async () => {
  const log: string[] = [];
  const sides = [fakeSide('torch', 'peer', [1, 1, 1], log, 5), fakeSide('ours', 'ours', [1, 1, 1], log, 5), fakeSide('torch_cl', 'peer', [1, 1, 1], log, 5)];
  const data = await runRounds(['a', 'b'], 2, sides);
  assert.deepEqual(log, [
    'a:ours', 'a:torch', 'a:torch_cl', 'b:ours', 'b:torch', 'b:torch_cl',
    'a:torch', 'a:torch_cl', 'a:ours', 'b:torch', 'b:torch_cl', 'b:ours',
  ]);
  assert.equal(data.a.ours.length, 2);
  await assert.rejects(runRounds(['a'], 0, sides), /rounds must be a positive integer/);
  await assert.rejects(runRounds(['a'], 1, [sides[0]]), /exactly one side of ours/);
});

test('after the layout rounds, a peer layout slower on every metric of a task stops running for it', async () => {
  const log: string[] = [];
  const sides = [fakeSide('ours', 'ours', [5, 5, 5, 5], log, 1), fakeSide('torch', 'peer', [10, 11, 10, 12], log, 1), fakeSide('torch_cl', 'peer', [20, 21, 22, 23], log, 1)];
  // 'pair' reports pair_a = v and pair_b = 2v: torch wins both, so torch_cl stops for both jobs
  const data = await runRounds(['solo', 'pair'], 4, sides, { pickAfter: 2, metricsOf: (j) => (j === 'pair' ? ['pair_a', 'pair_b'] : [j]) });
  assert.deepEqual([data.solo.ours.length, data.solo.torch.length, data.solo.torch_cl.length], [4, 4, 2]);
  assert.deepEqual(log.slice(12), ['solo:ours', 'solo:torch', 'pair:ours', 'pair:torch', 'solo:torch', 'solo:ours', 'pair:torch', 'pair:ours'],
    'rounds 3 and 4 without torch_cl, who goes first still alternating');
  const s = summarize(data, (j) => (j === 'pair' ? ['pair_a', 'pair_b'] : [j]));
  assert.equal(s.solo.peer_layout, 'torch');
  assert.deepEqual(s.solo.peer_layouts_ms, { torch: 10.5, torch_cl: 20.5 });
  // a layout that wins one metric and loses another is kept
  const measured = (a: number, b: number): Measurement => ({ metrics: { x: a, y: b }, peakRssMb: null, tensorsBefore: null, tensorsAfter: null });
  const peers: Side[] = [fakeSide('p', 'peer', [], [], null), fakeSide('q', 'peer', [], [], null)];
  assert.deepEqual([...dominatedPeers('j', { p: [measured(1, 5)], q: [measured(2, 4)] }, peers, ['x', 'y'])], []);
  assert.deepEqual([...dominatedPeers('j', { p: [measured(1, 3)], q: [measured(2, 4)] }, peers, ['x', 'y'])], ['q']);
});

test('summary: median and IQR over rounds, the faster peer layout, worst tensor round, peak RSS, GFLOP/s; JSON shape', async () => {
  const log: string[] = [];
  const ours = fakeSide('ours', 'ours', [12, 10, 11, 30, 13], log, 100);
  const nchw = fakeSide('torch', 'peer', [20, 21, 19, 22, 20], log, 200);
  const cl = fakeSide('torch_cl', 'peer', [25, 24, 26, 25, 25], log, 50);
  const data = await runRounds(['fake', 'pair'], 5, [ours, nchw, cl]);
  const flops = (m: string) => (m === 'pair_a' ? 4e9 : null);
  const s = summarize(data, (job) => (job === 'pair' ? ['pair_a', 'pair_b'] : [job]), flops);
  assert.deepEqual(Object.keys(s), ['fake', 'pair_a', 'pair_b']);
  const f = s.fake;
  assert.equal(f.ours_ms, 12); // median of 12, 10, 11, 30, 13
  assert.deepEqual(f.iqr, [11, 13]);
  assert.equal(f.peer_layout, 'torch');
  assert.equal(f.peer_ms, 20);
  assert.deepEqual(f.peer_iqr, [20, 21]);
  assert.deepEqual(f.peer_layouts_ms, { torch: 20, torch_cl: 25 });
  assert.equal(f.ratio, 12 / 20);
  assert.equal(f.peak_rss_mb, 104, 'the largest peak over rounds');
  assert.equal(f.peer_peak_rss_mb, 204, "the compared layout's peak");
  assert.deepEqual([f.tensors_before, f.tensors_after], [10, 12], 'the round whose count grew');
  assert.equal(f.rounds, 5);
  assert.equal(f.gflops, undefined);
  assert.equal(s.pair_b.ours_ms, 24);
  assert.equal(s.pair_a.gflops, 4e9 / 12 / 1e6);
  assert.equal(s.pair_a.peer_gflops, 4e9 / 20 / 1e6);

  const meta = { description: 'fake', rounds: 5, threads: 2, backend: 'b', peer: 'p' };
  const json = benchJson(s, meta) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(json), ['fake', 'pair_a', 'pair_b', 'meta']);
  for (const key of ['ours_ms', 'peer_ms', 'ratio', 'iqr', 'peak_rss_mb', 'peer_peak_rss_mb', 'tensors_before', 'tensors_after']) {
    assert.ok(key in json.fake, `${key} in the task entry`);
  }
  assert.equal(json.fake.ratio, 0.6);
  assert.deepEqual(json.fake.iqr, [11, 13]);
  assert.equal(json.pair_a.gflops, 333);
  const table = benchTable(s, meta).split('\n');
  assert.equal(table.filter((l) => /^(fake|pair_a|pair_b) /.test(l)).length, 3);
  assert.match(table.find((l) => l.startsWith('fake '))!, /12\.0 +11\.0-13\.0 +20\.0 +NCHW +0\.60 +104 +204 +10->12/);

  assert.throws(() => summarize({ x: { ours: [], torch: [] } }, (j) => [j]), /missing rounds/);
  assert.throws(() => summarize(data, () => ['absent']), /lacks metric 'absent'/);
});

test('process results: the last stdout line is the JSON; a failure names the side and the last stderr line', async () => {
  const ok = await runJsonProcess('fake ok', process.execPath, ['-e', 'console.log("noise"); console.log(JSON.stringify({ median_ms: 3 }))'], process.env);
  assert.deepEqual(ok, { median_ms: 3 });
  await assert.rejects(runJsonProcess('fake crash', process.execPath, ['-e', 'console.error("first"); console.error("the reason"); process.exit(3)'], process.env),
    (e: unknown) => e instanceof UserError && e.message === 'bench: fake crash failed (exit 3): the reason');
  await assert.rejects(runJsonProcess('fake silent', process.execPath, ['-e', 'console.log("not json")'], process.env),
    (e: unknown) => e instanceof UserError && /^bench: fake silent printed no JSON result \(last line: "not json"\)$/.test(e.message));
});

test('ours: a worker that finds no native kernels is started again; other failures are not retried', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-bench-'));
  try {
    // a fake launcher: exits with the native-missing status on its first two starts, then reports
    const launcher = path.join(dir, 'fake_ddtb');
    fs.writeFileSync(launcher, `#!${process.execPath}
const fs = require('fs');
const counter = ${JSON.stringify(path.join(dir, 'starts'))};
const n = fs.existsSync(counter) ? Number(fs.readFileSync(counter, 'utf8')) + 1 : 1;
fs.writeFileSync(counter, String(n));
if (!process.argv.includes('--require-native')) { console.error('no --require-native'); process.exit(9); }
if (process.argv.includes('ddtb_infer')) { console.error('broken'); process.exit(1); }
if (n <= 2) { console.error('ddtb: bench --worker fp_infer: native kernels not loaded (addon is stale)'); process.exit(${NATIVE_MISSING_STATUS}); }
console.log(JSON.stringify({ job: 'fp_infer', metrics: { fp_infer: 7 }, ms: { fp_infer: [7] }, peak_rss_mb: 9, tensors_before: 1, tensors_after: 1, backend: 'b', threads: 2 }));
`, { mode: 0o755 });
    const lines: string[] = [];
    const side = oursSide({ shape: DEFAULT_SHAPE, plans: DEFAULT_PLANS, threads: 2, python: 'unused', peerEnv: 'same', requireNative: true,
      nativeRetries: 3, nativeRetryWaitMs: 1, log: (l) => lines.push(l), launcher });
    const m = await side.run('fp_infer');
    assert.deepEqual(m, { metrics: { fp_infer: 7 }, peakRssMb: 9, tensorsBefore: 1, tensorsAfter: 1, backend: 'b' });
    assert.equal(fs.readFileSync(path.join(dir, 'starts'), 'utf8'), '3');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], '  ours fp_infer: bench --worker fp_infer: native kernels not loaded (addon is stale); trying again in 0 s');
    await assert.rejects(side.run('ddtb_infer'), (e: unknown) => e instanceof ProcessFailure && e.status === 1 && /ours ddtb_infer failed \(exit 1\): broken/.test(e.message));
    assert.equal(fs.readFileSync(path.join(dir, 'starts'), 'utf8'), '4', 'no retry for another failure');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("dynamic layers spread as the peer spreads them: EDSR 16 blocks, 30% -> 14 of 48 at Python's round(i*48/14)", () => {
  const graph = quantGraphFor({ arch: 'edsr', blocks: 16, feats: 64, scale: 4, resScale: 1 }, { bits: 2, act: 'ddtb' });
  const names = peerDynamicLayers(graph, 0.3);
  // [round(i * 48 / 14) for i in range(14)] in Python
  const expected = [0, 3, 7, 10, 14, 17, 21, 24, 27, 31, 34, 38, 41, 45].map((i) => `body.${Math.floor(i / 3)}.quant_act${(i % 3) + 1}`);
  assert.deepEqual(names, expected);
  assert.deepEqual(peerDynamicLayers(graph, 0), []);
  assert.equal(convFlops(DEFAULT_SHAPE), 2 * 16 * 48 * 48 * 64 * 64 * 9);
});

test('RSS summary: slope in MB per 100 iterations and max-min over the window', () => {
  const rss = Array.from({ length: 30 }, (_, i) => (i < 9 ? 50 + i : 100 + 0.01 * (i + 1)));
  const s = rssSummary({ iterations: 30, rss_mb: rss, ms: rss.map(() => 1), tensors: { after_1: 5, after_20: 5, after_30: 5 }, peak_rss_mb: 101, backend: 'b' }, 10);
  assert.deepEqual([s.from, s.to], [10, 30]);
  assert.equal(s.slope_mb_per_100_iterations, 1);
  assert.equal(s.max_min_mb, 0.2);
  assert.equal(s.rss_at_from_mb, 100.1);
  assert.throws(() => rssSummary({ iterations: 3, rss_mb: [1, 2, 3], ms: [1, 1, 1], tensors: {}, peak_rss_mb: 3, backend: 'b' }, 3), /window start 3/);
});

test('our task definitions keep the tensor count flat (tiny EDSR, every job, no timing asserted)', () => {
  const tiny: BenchShape = { ...DEFAULT_SHAPE, blocks: 2, feats: 4, batch: 2, patch: 6, height: 6, width: 5 };
  for (const job of BENCH_JOBS) {
    const r = runWorker(job, tiny, { warmup: 1, steps: 2 });
    assert.equal(r.tensors_after, r.tensors_before, `${job}: tensors after the last step`);
    const metrics = job === 'conv' ? ['conv_fwd', 'conv_bwd_data', 'conv_bwd_filter'] : [job];
    assert.deepEqual(Object.keys(r.metrics), metrics);
    for (const m of metrics) assert.equal(r.ms[m].length, 2);
    assert.ok(r.peak_rss_mb > 0);
  }
  assert.throws(() => runWorker('fp_infer', tiny, { warmup: 0, steps: 1 }), /warmup >= 1/);
});
