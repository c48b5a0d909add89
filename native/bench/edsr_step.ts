/**
 * An EDSR-like training step for the kernel pack: head conv, residual blocks (conv-ReLU-conv + skip),
 * global skip, x2 or x4 upsampling (conv to 4C, pixel shuffle by reshape/transpose), tail conv,
 * L1 loss, gradients of every weight and bias, Adam. Runs it on the native kernels, on the pure-JS
 * kernels, or both (each in its own process), and prints the median step and, with --profile, where
 * the kernel time goes.
 *
 *   source scripts/runtime_env.sh
 *   node -r ts-node/register/transpile-only native/bench/edsr_step.ts --mode both \
 *     [--batch 2] [--patch 16] [--feats 16] [--blocks 2] [--scale 2] [--steps 5] [--warmup 3] [--profile]
 * A benchmark, not a test.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

const argv = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
}
const root = path.resolve(__dirname, '..', '..');
const cfg = {
  batch: Number(option('batch', '2')), patch: Number(option('patch', '16')), feats: Number(option('feats', '16')),
  blocks: Number(option('blocks', '2')), scale: Number(option('scale', '2')), steps: Number(option('steps', '5')),
  warmup: Number(option('warmup', '3')),
};

function child(pure: boolean): void {
  /* eslint-disable @typescript-eslint/no-var-requires */
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  const backend = require(path.join(root, 'lib', 'backend')) as typeof import('../../lib/backend');
  const info = backend.ensureBackend();
  if (pure ? info.native.loaded : !info.native.loaded) throw new Error(`unexpected kernels: ${JSON.stringify(info.native)}`);
  type T4 = import('@tensorflow/tfjs').Tensor4D;
  const F = cfg.feats;
  const v = (s: number[]) => tf.variable(tf.randomNormal(s, 0, 0.05));
  const conv = (x: T4, w: import('@tensorflow/tfjs').Variable, b: import('@tensorflow/tfjs').Variable, act: 'linear' | 'relu' = 'linear') =>
    tf.fused.conv2d({ x, filter: w as unknown as T4, strides: 1, pad: 'same', bias: b, activation: act });
  const shuffle = (x: T4): T4 => {
    const [n, h, w, c] = x.shape;
    return tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, c / 4, 2, 2]), [0, 1, 4, 2, 5, 3]), [n, 2 * h, 2 * w, c / 4]) as T4;
  };
  const head = [v([3, 3, 3, F]), v([F])];
  const body = Array.from({ length: cfg.blocks }, () => [v([3, 3, F, F]), v([F]), v([3, 3, F, F]), v([F])]);
  const ups = Array.from({ length: Math.log2(cfg.scale) }, () => [v([3, 3, F, 4 * F]), v([4 * F])]);
  const tail = [v([3, 3, F, 3]), v([3])];
  const model = (x: T4) => {
    const h = conv(x, head[0], head[1]);
    let f = h;
    for (const [w1, b1, w2, b2] of body) f = tf.add(f, conv(conv(f, w1, b1, 'relu'), w2, b2));
    f = tf.add(f, h);
    for (const [w, b] of ups) f = shuffle(conv(f, w, b));
    return conv(f, tail[0], tail[1]);
  };
  const lr = tf.randomUniform([cfg.batch, cfg.patch, cfg.patch, 3], 0, 255) as T4;
  const hr = tf.randomUniform([cfg.batch, cfg.patch * cfg.scale, cfg.patch * cfg.scale, 3], 0, 255);
  const opt = tf.train.adam(1e-4);
  const step = () => tf.tidy(() => { opt.minimize(() => tf.mean(tf.abs(tf.sub(model(lr), hr))) as import('@tensorflow/tfjs').Scalar); });
  const body_ = async () => {
    step();
    const tensors = tf.memory().numTensors;
    for (let i = 1; i < cfg.warmup; i++) step();
    const times: number[] = [];
    const faults0 = process.resourceUsage().minorPageFault;
    for (let i = 0; i < cfg.steps; i++) {
      const t = performance.now();
      step();
      times.push(performance.now() - t);
    }
    const faultsPerStep = Math.round((process.resourceUsage().minorPageFault - faults0) / cfg.steps);
    let profile: [string, number][] = [];
    if (argv.includes('--profile')) {
      const p = await tf.profile(step);
      const agg = new Map<string, number>();
      for (const k of p.kernels) if (!k.name.endsWith('__op')) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
      profile = [...agg].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, ms]) => [k, +ms.toFixed(1)]);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ median_ms: +times[times.length >> 1].toFixed(1), ms: times.map((t) => +t.toFixed(1)),
      tensors_after_first: tensors, tensors_after: tf.memory().numTensors, page_faults_per_step: faultsPerStep,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), profile }));
  };
  void body_();
}

function run(pure: boolean): { median_ms: number; page_faults_per_step: number; peak_rss_mb: number; profile: [string, number][] } {
  const args = ['-r', 'ts-node/register/transpile-only', __filename, '--child', pure ? 'pure' : 'native', ...argv];
  // the pure-JS side is a process with the native pack switched off
  const env = pure ? { ...process.env, DDTB_NATIVE: '0' } : process.env;
  const out = execFileSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

function main(): void {
  const mode = option('mode', 'both');
  const desc = `batch ${cfg.batch}, LR ${cfg.patch}x${cfg.patch}, ${cfg.blocks} blocks x ${cfg.feats} feats, x${cfg.scale}, median of ${cfg.steps} steps after ${cfg.warmup} warm-up`;
  console.log(`EDSR-like training step (${desc})`);
  const results: Record<string, unknown> = {};
  for (const pure of mode === 'both' ? [false, true] : [mode === 'pure']) {
    const r = run(pure);
    results[pure ? 'pure_js' : 'native'] = r;
    console.log(`${(pure ? 'pure JS' : 'native').padEnd(8)} ${String(r.median_ms).padStart(10)} ms   (${r.page_faults_per_step} page faults/step, peak RSS ${r.peak_rss_mb} MB)`);
    if (r.profile.length) console.log(`  ${r.profile.map(([k, ms]) => `${k} ${ms}`).join(', ')}`);
  }
  console.log(JSON.stringify(results));
}

if (argv.includes('--child')) child(argv[argv.indexOf('--child') + 1] === 'pure'); else main();
