/**
 * Loading and registering the native kernel pack: what is registered, swapping the pure-JS kernels
 * back in, the DDTB_NATIVE=0 switch (in a child process, so it runs with or without the addon), and
 * the build script's exits when oneDNN or the whole build is unavailable (in a scratch copy, so the
 * real build/ is untouched).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { kernelCalls, nativeAddon, registerNativeKernels, withPureJsKernels } from '../../lib/backend/native';
import { nativeKernelFactories } from '../../lib/backend/kernels/all';
// these modules define the composite kernels (DDTB and PAMS fake-quant, shared PReLU, BatchNorm,
// the conv backward ConvSameGrad) that the pack also serves natively
import '../../lib/quant/ddtb_act';
import '../../lib/quant/pams';
import '../../lib/nn/prelu';
import '../../lib/nn/batchnorm';
import '../../lib/nn/conv';
import '../../lib/quant/gate';
import { repoRoot } from '../helpers';
import { nativeSkip, seeded } from './native_helpers';

const skip = nativeSkip();

function runNode(code: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code],
    { cwd: repoRoot, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('native kernel registration', () => {
  test('every kernel of the pack is registered over the cpu kernel and reported', { skip }, () => {
    const status = ensureBackend().native;
    assert.deepStrictEqual([...status.kernels], nativeKernelFactories.map(([name]) => name));
    assert.match(status.library ?? '', /^oneDNN 2\.\d+\.\d+ \([a-z0-9_]+\), \d+ OpenMP threads; convs: (NHWC in place|blocked layout)/);
    assert.strictEqual(registerNativeKernels('cpu'), status, 'a second call returns the same status');
    assert.ok(nativeAddon(), 'the addon is reachable for lib/backend');
  });

  test('withPureJsKernels runs the originals, then restores the native kernels, also after a throw', { skip }, () => {
    const x = seeded([1, 5, 5, 2], 1), w = seeded([3, 3, 2, 2], 2);
    const count = () => kernelCalls().get('Conv2D')?.native ?? 0;
    const n0 = count();
    withPureJsKernels(() => tf.tidy(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')));
    assert.strictEqual(count(), n0, 'no native call inside');
    assert.throws(() => withPureJsKernels(() => { throw new Error('boom'); }), /boom/);
    withPureJsKernels(() => {
      withPureJsKernels(() => undefined);
      tf.tidy(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
    });
    assert.strictEqual(count(), n0, 'still pure JS after a nested call returns');
    tf.tidy(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
    assert.strictEqual(count(), n0 + 1, 'native again afterwards');
    tf.dispose([x, w]);
  });
});

describe('DDTB_NATIVE=0', () => {
  test('keeps the pure-JS kernels and says so; ops still run', () => {
    const code = `
      const tf = require('@tensorflow/tfjs');
      const { ensureBackend } = require('./lib/backend');
      const info = ensureBackend();
      const y = tf.conv2d(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 1]), 1, 'same');
      console.log(JSON.stringify({ native: info.native, centre: y.dataSync()[5] }));`;
    const r = runNode(code, { DDTB_NATIVE: '0' });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    assert.strictEqual(out.native.loaded, false);
    assert.deepStrictEqual(out.native.kernels, []);
    assert.match(out.native.reason, /DDTB_NATIVE=0/);
    assert.strictEqual(out.centre, 18); // 3x3 window x 2 channels of ones
  });
});

/** The probes below need the build tools to get as far as the oneDNN check. */
const hasBuildTools = spawnSync('sh', ['-c', 'command -v "${CXX:-c++}" && command -v make && command -v python3']).status === 0;

describe('scripts/build_native.sh without its prerequisites', () => {
  /** A scratch copy of what the build needs, with the project's node_modules linked in. */
  function scratch(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-native-build-'));
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(path.join(repoRoot, 'scripts', 'build_native.sh'), path.join(dir, 'scripts', 'build_native.sh'));
    fs.copyFileSync(path.join(repoRoot, 'binding.gyp'), path.join(dir, 'binding.gyp'));
    fs.cpSync(path.join(repoRoot, 'native'), path.join(dir, 'native'), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  }

  function build(dir: string, env: Record<string, string>) {
    return spawnSync('bash', ['scripts/build_native.sh'], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300000 });
  }

  test('missing oneDNN headers: exits 0, says why and how, records the reason, builds nothing',
    { skip: hasBuildTools ? undefined : 'no C++ compiler, make or python3 here' }, () => {
    const dir = scratch();
    try {
      const r = build(dir, { DDTB_DNNL_HEADER: 'oneapi/dnnl/not_installed.hpp', npm_lifecycle_event: 'install' });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stdout, /oneDNN headers not found .*libdnnl-dev/);
      assert.match(fs.readFileSync(path.join(dir, 'build', 'native_skipped.txt'), 'utf8'), /oneDNN headers not found/);
      assert.ok(!fs.existsSync(path.join(dir, 'build', 'Release', 'ddtb_native.node')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no compiler, or DDTB_NATIVE_BUILD=0: exits 0 with the reason', () => {
    const dir = scratch();
    try {
      const noCxx = build(dir, { CXX: 'no-such-compiler' });
      assert.strictEqual(noCxx.status, 0, noCxx.stderr);
      assert.match(noCxx.stdout, /no C\+\+ compiler \(no-such-compiler\)/);
      const off = build(dir, { DDTB_NATIVE_BUILD: '0' });
      assert.strictEqual(off.status, 0, off.stderr);
      assert.match(off.stdout, /DDTB_NATIVE_BUILD=0/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a compile error fails a manual run but not npm\'s install hook', { skip: skip || undefined }, () => {
    const dir = scratch();
    try {
      fs.appendFileSync(path.join(dir, 'native', 'addon.cc'), '\nthis is not C++;\n');
      const manual = build(dir, {});
      assert.strictEqual(manual.status, 1);
      assert.match(manual.stdout, /BUILD FAILED/);
      const hook = build(dir, { npm_lifecycle_event: 'install' });
      assert.strictEqual(hook.status, 0, hook.stderr);
      assert.match(hook.stdout, /BUILD FAILED.*\n.*continuing the install/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
