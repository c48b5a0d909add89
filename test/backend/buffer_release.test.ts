/**
 * lib/backend/buffer_release.ts: disposing a tensor a native kernel made frees its buffer at the next
 * native kernel call, and never a buffer somebody else can still read (an array returned by
 * dataSync, a buffer a JavaScript kernel wrote into another tensor, a shared data id).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { OUTPUT_PAD, bufferPoolCapBytes, releaseStats, resetReleaseStats } from '../../lib/backend/buffer_release';
import { nativeAddon, withPureJsKernels } from '../../lib/backend/native';
import { nativeSkip, seeded } from './native_helpers';

const skip = nativeSkip() || (ensureBackend().native.releasesBuffers ? false : 'DDTB_RELEASE_BUFFERS=0');

/** Runs one native kernel (an Add), which flushes the queue. */
function nativeCall(): void {
  tf.tidy(() => tf.add(tf.ones([4]), tf.ones([4])).dataSync());
}

interface BackendData { data: { get(id: tf.DataId): { values: Float32Array } } }

function valuesOf(t: tf.Tensor): Float32Array {
  return (tf.backend() as unknown as BackendData).data.get(t.dataId).values;
}

/** The addon's pool now (buffers, bytes) and its counters. */
function poolStats(): { buffers: number; bytes: number; pooled: number; reused: number; freed: number } {
  const addon = nativeAddon();
  if (!addon) throw new Error('native addon not loaded');
  return addon.bufferPoolStats();
}

/** Runs `f` with DDTB_BUFFER_POOL_MB set to `mb` (unset for undefined), restoring it afterwards. */
function withPoolMb<T>(mb: string | undefined, f: () => T): T {
  const saved = process.env.DDTB_BUFFER_POOL_MB;
  if (mb === undefined) delete process.env.DDTB_BUFFER_POOL_MB; else process.env.DDTB_BUFFER_POOL_MB = mb;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.DDTB_BUFFER_POOL_MB; else process.env.DDTB_BUFFER_POOL_MB = saved;
  }
}

describe('DDTB_BUFFER_POOL_MB', () => {
  test('defaults to 512 MB, takes fractions and 0, and names itself when it is not a number >= 0', () => {
    assert.strictEqual(withPoolMb(undefined, bufferPoolCapBytes), 512 * 1048576);
    assert.strictEqual(withPoolMb('0', bufferPoolCapBytes), 0);
    assert.strictEqual(withPoolMb('1.5', bufferPoolCapBytes), 1.5 * 1048576);
    for (const bad of ['lots', '-1', 'Infinity']) {
      assert.throws(() => withPoolMb(bad, bufferPoolCapBytes), (e: Error) => e.message.includes('DDTB_BUFFER_POOL_MB') && e.message.includes(`'${bad}'`), bad);
    }
  });
});

describe('prompt release of native output buffers', { skip }, () => {
  test('a disposed native output is freed at the next native call; its old view reads length 0', () => {
    resetReleaseStats();
    const a = seeded([64, 64], 1);
    const y = tf.add(a, a);
    const raw = valuesOf(y);
    assert.strictEqual(raw.length, 64 * 64);
    y.dispose();
    nativeCall();
    const s = releaseStats();
    assert.ok(s.released >= 1 && s.releasedBytes >= 64 * 64 * 4, `released ${s.released} buffers, ${s.releasedBytes} bytes`);
    assert.strictEqual(raw.length, 0, 'the buffer was detached');
    a.dispose();
  });

  test('an array read with dataSync survives the tensor\'s disposal', () => {
    const a = seeded([32, 32], 2);
    const y = tf.mul(a, a);
    const expected = Array.from(tf.tidy(() => tf.mul(a, a).dataSync()));
    const kept = y.dataSync();
    y.dispose();
    nativeCall();
    assert.strictEqual(kept.length, 32 * 32);
    assert.deepStrictEqual(Array.from(kept), expected);
    a.dispose();
  });

  test('a buffer a JavaScript kernel writes into another tensor stays (dispose, then reuse its array)', () => {
    const backend = tf.backend() as unknown as BackendData & { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo };
    const a = seeded([16, 16], 3);
    const y = tf.sub(a, tf.scalar(1));
    const expected = Array.from(tf.tidy(() => tf.sub(a, tf.scalar(1)).dataSync()));
    const values = valuesOf(y);
    y.dispose();                                          // queued ...
    const info = backend.makeTensorInfo([16, 16], 'float32', values);   // ... and taken over, as a JS kernel may
    const z = tf.engine().makeTensorFromTensorInfo(info);
    nativeCall();
    assert.deepStrictEqual(Array.from(z.dataSync()), expected);
    tf.dispose([z, a]);
  });

  test('shared data (reshape, clone) is freed only when its last holder goes', () => {
    const a = seeded([8, 8], 4);
    const y = tf.add(a, tf.scalar(2));
    const expected = Array.from(tf.tidy(() => tf.add(a, tf.scalar(2)).dataSync()));
    const r = tf.reshape(y, [64]);
    const c = y.clone();
    y.dispose();
    nativeCall();
    assert.deepStrictEqual(Array.from(tf.tidy(() => tf.mul(r, 1).dataSync())), expected);
    r.dispose();
    nativeCall();
    assert.deepStrictEqual(Array.from(tf.tidy(() => tf.mul(c, 1).dataSync())), expected);
    tf.dispose([c, a]);
  });

  test('training-like use: 30 steps of conv forward and backward keep tensors flat and release buffers', () => {
    const x = seeded([2, 12, 12, 8], 5) as tf.Tensor4D;
    const w = tf.variable(seeded([3, 3, 8, 8], 6, -0.3, 0.3));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')))) as tf.Scalar, [w]);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    };
    const first = step();
    const tensors = tf.memory().numTensors;
    resetReleaseStats();
    for (let i = 0; i < 30; i++) assert.strictEqual(step(), first, `step ${i + 2} computes the same loss`);
    assert.strictEqual(tf.memory().numTensors, tensors);
    assert.ok(releaseStats().released >= 30, `released ${releaseStats().released} buffers in 30 steps`);
    tf.dispose([x, w]);
  });

  // 256 x 256 float32 = 256 KB, the smallest buffer the pool keeps (native/buffer_pool.cc kPoolMin)
  const big = [256, 256];

  test('a released large output is reused by the next output of its size, which reads its own values', () => {
    const a = seeded(big, 7);
    const b = seeded(big, 8);
    const expected = Array.from(tf.tidy(() => withPureJsKernels(() => tf.mul(a, b).dataSync())));
    const before = poolStats();
    const y = tf.add(a, b);
    const buffer = valuesOf(y).buffer;
    y.dispose();
    const z = tf.mul(a, b);                               // flushes the release, then takes the buffer
    assert.strictEqual(valuesOf(z).buffer, buffer, 'the output went into the released buffer');
    assert.ok(poolStats().reused > before.reused);
    assert.deepStrictEqual(Array.from(z.dataSync()), expected);
    tf.dispose([a, b, z]);
  });

  test('outputs of 4 KB or more start at a 64-byte aligned address, 64 bytes into their buffer at most, also when reused', () => {
    const addon = nativeAddon();
    if (!addon) throw new Error('native addon not loaded');
    assert.strictEqual(addon.info().outputAlign, OUTPUT_PAD);
    const a = seeded(big, 14);
    for (let i = 0; i < 3; i++) {
      // odd element counts too: the padding does not depend on the length
      for (const shape of [big, [1025], [33, 31, 5]]) {
        const x = shape === big ? a : seeded(shape, 15 + i);
        const y = tf.mul(x, x);
        const v = valuesOf(y);
        assert.strictEqual(addon.dataAlignment(v), 0, `output [${shape}] is 64-byte aligned`);
        assert.strictEqual(v.buffer.byteLength, v.byteLength + OUTPUT_PAD, `output [${shape}] has its padding`);
        assert.ok(v.byteOffset < OUTPUT_PAD);
        assert.deepStrictEqual(Array.from(y.dataSync().slice(0, 5)), Array.from(x.dataSync().slice(0, 5)).map((e) => Math.fround(e * e)));
        tf.dispose(shape === big ? [y] : [x, y]);
      }
    }
    // under 4 KB: no padding, a plain whole buffer
    const s = tf.add(tf.ones([1023]), tf.ones([1023]));
    assert.strictEqual(valuesOf(s).byteOffset, 0);
    assert.strictEqual(valuesOf(s).buffer.byteLength, 1023 * 4);
    tf.dispose([a, s]);
  });

  test('an array read with dataSync is never pooled: a later output of its size leaves it intact', () => {
    const a = seeded(big, 9);
    const y = tf.add(a, tf.scalar(3));
    const kept = y.dataSync();
    const expected = Array.from(kept);
    y.dispose();
    const others = [tf.mul(a, a), tf.sub(a, a), tf.add(a, a)];
    assert.ok(others.every((t) => valuesOf(t).buffer !== kept.buffer));
    assert.deepStrictEqual(Array.from(kept), expected);
    tf.dispose([a, ...others]);
  });

  test('with DDTB_BUFFER_POOL_MB=0 a large output is freed at once (its view reads length 0)', () => {
    withPoolMb('0', () => {
      const a = seeded(big, 10);
      const y = tf.add(a, a);
      const raw = valuesOf(y);
      y.dispose();
      nativeCall();
      assert.strictEqual(raw.length, 0, 'detached, not pooled');
      assert.strictEqual(poolStats().bytes, 0, 'a cap of 0 empties the pool');
      a.dispose();
    });
  });

  test('the pool keeps at most its cap, freeing its oldest buffers first', () => {
    withPoolMb('0.6', () => {                             // room for two 256 KB buffers, not three
      const a = seeded(big, 11);
      const outs = [tf.add(a, a), tf.mul(a, a), tf.sub(a, a)];
      const raws = outs.map(valuesOf);
      for (const t of outs) { t.dispose(); nativeCall(); }
      const s = poolStats();
      assert.ok(s.bytes <= bufferPoolCapBytes() && s.buffers <= 2, `pool holds ${s.buffers} buffers, ${s.bytes} bytes`);
      assert.deepStrictEqual(raws.map((r) => r.length), [0, 65536, 65536], 'the oldest was freed, the newer two kept');
      a.dispose();
    });
  });

  test('training-like use with large activations: the pool stops growing, reuses, and every step is the same', () => {
    const x = seeded([1, 64, 64, 16], 12) as tf.Tensor4D;
    const w = tf.variable(seeded([3, 3, 16, 16], 13, -0.2, 0.2));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')))) as tf.Scalar, [w]);
      const out = [value.dataSync()[0], ...Array.from(grads[w.name].dataSync().slice(0, 8))];
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const first = step();
    step();
    const tensors = tf.memory().numTensors;
    const settled = poolStats();
    for (let i = 0; i < 20; i++) assert.deepStrictEqual(step(), first, `step ${i + 3} computes the same loss and gradient`);
    const end = poolStats();
    assert.strictEqual(tf.memory().numTensors, tensors);
    assert.ok(end.reused >= settled.reused + 20, `reused ${end.reused - settled.reused} buffers in 20 steps`);
    assert.ok(end.bytes <= settled.bytes, `pool grew from ${settled.bytes} to ${end.bytes} bytes`);
    tf.dispose([x, w]);
  });
});
