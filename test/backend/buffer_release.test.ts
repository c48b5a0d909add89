/**
 * lib/backend/buffer_release.ts: disposing a tensor a native kernel made frees its buffer at the next
 * native kernel call, and never a buffer somebody else can still read (an array returned by
 * dataSync, a buffer a JavaScript kernel wrote into another tensor, a shared data id).
 */
import { describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { releaseStats, resetReleaseStats } from '../../lib/backend/buffer_release';
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
});
