/**
 * Conv kernel benchmark, ours against PyTorch on the same machine: medians of forward, input gradient
 * and filter gradient of one NHWC 3x3 conv (default 16x48x48x64 -> 64), for the native kernels
 * (through tfjs's engine, as training calls them) and for PyTorch (native/bench/conv_peer.py, NCHW
 * and channels-last), in separate processes, one after another, alternating over rounds.
 *
 *   source scripts/runtime_env.sh
 *   node -r ts-node/register/transpile-only native/bench/conv.ts [--shape 16,48,64,3] [--rounds 5] [--reps 15]
 * A benchmark, not a test: it prints a table and one JSON line.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

const argv = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
}
const shape = option('shape', '16,48,64,3');
const rounds = Number(option('rounds', '5'));
const reps = option('reps', '15');
const threads = process.env.OMP_NUM_THREADS ?? '2';
const root = path.resolve(__dirname, '..', '..');
type Row = { fwd_ms: number; bwd_data_ms: number; bwd_filter_ms: number };

/** One measurement of our kernels in a fresh process (the child branch below). */
function ours(): Row {
  const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, '--child', '--shape', shape, '--reps', reps],
    { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

function peer(channelsLast: boolean): Row {
  const args = [path.join(__dirname, 'conv_peer.py'), '--shape', shape, '--reps', reps, '--threads', threads];
  if (channelsLast) args.push('--channels-last');
  const out = execFileSync('/usr/bin/python3', args, { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

function child(): void {
  /* eslint-disable @typescript-eslint/no-var-requires */
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  const { ensureBackend } = require(path.join(root, 'lib', 'backend')) as typeof import('../../lib/backend');
  const info = ensureBackend();
  if (!info.native.loaded) throw new Error(`native kernels not loaded: ${info.native.reason}`);
  const [n, h, c, k] = shape.split(',').map(Number);
  const p = (k - 1) >> 1;
  const x = tf.randomNormal([n, h, h, c]), w = tf.randomNormal([k, k, c, c]), dy = tf.randomNormal([n, h, h, c]);
  const run = (name: string, inputs: Record<string, import('@tensorflow/tfjs').Tensor>, attrs: object) =>
    tf.engine().runKernel(name, inputs, attrs as import('@tensorflow/tfjs').NamedAttrMap) as import('@tensorflow/tfjs').Tensor;
  const median = (fn: () => import('@tensorflow/tfjs').Tensor) => {
    for (let i = 0; i < 3; i++) fn().dispose();
    const t: number[] = [];
    for (let i = 0; i < Number(reps); i++) {
      const s = performance.now();
      const r = fn();
      t.push(performance.now() - s);
      r.dispose();
    }
    t.sort((a, b) => a - b);
    return t[t.length >> 1];
  };
  const conv = { strides: 1, pad: [[0, 0], [p, p], [p, p], [0, 0]], dataFormat: 'NHWC', dilations: 1 };
  console.log(JSON.stringify({
    fwd_ms: median(() => run('Conv2D', { x, filter: w }, conv)),
    bwd_data_ms: median(() => run('Conv2DBackpropInput', { dy, filter: w }, { ...conv, inputShape: [n, h, h, c] })),
    bwd_filter_ms: median(() => run('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: [k, k, c, c] })),
  }));
}

function med(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
  const runs: Record<'ours' | 'torch' | 'torch_cl', Row[]> = { ours: [], torch: [], torch_cl: [] };
  for (let r = 0; r < rounds; r++) {
    // alternate who goes first
    const order: (keyof typeof runs)[] = r % 2 ? ['torch', 'torch_cl', 'ours'] : ['ours', 'torch', 'torch_cl'];
    for (const who of order) runs[who].push(who === 'ours' ? ours() : peer(who === 'torch_cl'));
  }
  const [n, h, c, k] = shape.split(',').map(Number);
  const gflop = (2 * n * h * h * c * c * k * k) / 1e9;
  const summary: Record<string, Record<string, number>> = {};
  console.log(`conv ${n}x${h}x${h}x${c} -> ${c}, ${k}x${k}, ${threads} threads, ${rounds} rounds x ${reps} reps (median of round medians, ms)`);
  console.log(`${'pass'.padEnd(12)}${'ours'.padStart(9)}${'torch'.padStart(9)}${'torch CL'.padStart(10)}${'ratio'.padStart(8)}${'GFLOP/s'.padStart(9)}`);
  for (const pass of ['fwd_ms', 'bwd_data_ms', 'bwd_filter_ms'] as const) {
    const o = med(runs.ours.map((x) => x[pass])), t = med(runs.torch.map((x) => x[pass])), tc = med(runs.torch_cl.map((x) => x[pass]));
    const best = Math.min(t, tc);
    summary[pass] = { ours_ms: +o.toFixed(2), torch_ms: +t.toFixed(2), torch_channels_last_ms: +tc.toFixed(2), ratio: +(o / best).toFixed(3), gflops: +(gflop / o * 1e3).toFixed(0) };
    console.log(`${pass.replace('_ms', '').padEnd(12)}${o.toFixed(2).padStart(9)}${t.toFixed(2).padStart(9)}${tc.toFixed(2).padStart(10)}${(o / best).toFixed(2).padStart(8)}${(gflop / o * 1e3).toFixed(0).padStart(9)}`);
  }
  console.log(JSON.stringify(summary));
}

if (argv.includes('--child')) child(); else main();
