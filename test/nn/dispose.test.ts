/**
 * lib/nn/dispose.ts: `disposeConsumed` frees a layer's input once the layer has run, gradients through
 * a chain are unchanged by it (tfjs keeps its own clones for the backward pass), and the models'
 * forward passes no longer hold every block's output: their peak memory does not grow with depth.
 * Runs on the native kernels and on pure JS (DDTB_NATIVE=0).
 */
import { after, describe, test } from 'node:test';
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { disposeConsumed } from '../../lib/nn/dispose';
import { variableGrads } from '../../lib/nn/gradients';
import { conv2dSame } from '../../lib/nn/conv';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { officialRecipe } from '../../lib/quant/recipe';
import { Prng } from '../../lib/data/prng';
import { seeded } from '../backend/native_helpers';

ensureBackend();

/** Bytes allocated above what existed before, at the peak of `f` (its result disposed after). */
async function peakNewBytes(f: () => tf.Tensor[]): Promise<number> {
  const before = tf.memory().numBytes;
  let kept: tf.Tensor[] = [];
  const info = await tf.profile(() => { kept = f(); });
  tf.dispose(kept);
  return info.peakBytes - before;
}

describe('disposeConsumed', () => {
  test('disposes the input, never the output it returned nor a kept tensor', () => {
    const a = tf.ones([2, 2]), b = tf.add(a, 1), keep = tf.ones([3]);
    disposeConsumed(a, b);
    assert.ok(a.isDisposed && !b.isDisposed);
    disposeConsumed(b, b);
    assert.ok(!b.isDisposed, 'a layer that passed its input through keeps it');
    disposeConsumed(keep, b, keep);
    assert.ok(!keep.isDisposed, 'a kept tensor survives');
    tf.dispose([b, keep]);
  });

  test('a conv chain that frees each input as it goes: loss and gradients bit for bit those of the chain that does not', () => {
    const x = seeded([2, 7, 5, 4], 1) as tf.Tensor4D;
    const w1 = tf.variable(seeded([3, 3, 4, 6], 2)), w2 = tf.variable(seeded([3, 3, 6, 6], 3)), w3 = tf.variable(seeded([3, 3, 6, 4], 4));
    const b1 = tf.variable(seeded([6], 5));
    const chain = (free: boolean) => () => tf.tidy(() => {
      let h: tf.Tensor4D = x;
      for (const [w, b, act] of [[w1, b1, 'relu'], [w2, null, 'relu'], [w3, null, 'linear']] as const) {
        const next = conv2dSame(h, w as tf.Tensor4D, b as tf.Tensor1D | null, act);
        if (free) disposeConsumed(h, next, x);
        h = next;
      }
      return tf.sum(tf.mul(h, h)) as tf.Scalar;
    });
    const vars = [w1, w2, w3, b1];
    const before = tf.memory().numTensors;
    const ref = variableGrads(chain(false), vars);
    const ours = variableGrads(chain(true), vars);
    assert.ok(Object.is(ours.value.dataSync()[0], ref.value.dataSync()[0]), 'loss');
    for (const name of Object.keys(ref.grads)) {
      const r = ref.grads[name].dataSync(), o = ours.grads[name].dataSync();
      for (let i = 0; i < r.length; i++) {
        if (!Object.is(o[i], r[i])) assert.fail(`gradient of ${name}[${i}]: ${o[i]} with early disposal, ${r[i]} without`);
      }
    }
    tf.dispose([ref.value, ours.value, ...Object.values(ref.grads), ...Object.values(ours.grads)]);
    assert.strictEqual(tf.memory().numTensors, before, 'tensors left behind');
    tf.dispose([x, ...vars]);
  });
});

describe('model forward passes free block outputs as they go', () => {
  const lr = seeded([1, 12, 12, 3], 9, 0, 255) as tf.Tensor4D;
  const configs: Array<(blocks: number) => ModelConfig> = [
    (blocks) => ({ arch: 'edsr', blocks, feats: 16, scale: 2, resScale: 1 }),
    (blocks) => ({ arch: 'srresnet', blocks, feats: 16, scale: 2 }),
  ];
  for (const make of configs) {
    for (const quantized of [false, true]) {
      const arch = make(1).arch;
      test(`${arch}${quantized ? ' 2-bit' : ' FP'}: inference peak memory is the same for 2 and 8 blocks`, async () => {
        const peaks: number[] = [];
        for (const blocks of [2, 8]) {
          const model = make(blocks);
          const graph = quantized ? quantGraphFor(model, { bits: 2, act: 'ddtb' }) : null;
          const net = buildNetwork(model, graph, graph ? officialRecipe({ rng: Prng.fromSeed(3) }) : null, Prng.fromSeed(4)).eval();
          net.forward(lr).sr.dispose(); // first call (calibration of the quantized bounds)
          peaks.push(await peakNewBytes(() => { const out = net.forward(lr); return [out.sr, out.features]; }));
          net.dispose();
        }
        const map = 12 * 12 * 16 * 4;
        // Holding each block's output to the end would add 6 feature maps (and more in the blocks) for 8 blocks.
        assert.ok(peaks[1] <= peaks[0], `peak bytes ${peaks[0]} with 2 blocks, ${peaks[1]} with 8 (a feature map is ${map})`);
      });
    }
  }
  after(() => lr.dispose());
});
