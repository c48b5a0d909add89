/** Tiled inference equals untiled for FP networks; dynamic networks refuse to tile. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { officialRecipe } from '../../lib/quant/recipe';
import { setDynamicLayers } from '../../lib/models/dynamic';
import { upscaleRaw, receptiveRadiusLR } from '../../lib/eval/upscale';
import { Prng } from '../../lib/data/prng';

ensureBackend();
const config: ModelConfig = { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 };

function randomImage(width: number, height: number, seed: number) {
  const rng = Prng.fromSeed(seed);
  return { width, height, gray: false, data: Uint8Array.from({ length: width * height * 3 }, () => rng.nextInt(256)) };
}

test('receptive field of EDSR counts every 3x3 conv at its resolution', () => {
  const m = buildNetwork(config, null, null, Prng.fromSeed(1));
  // head 1 + 2 blocks x 2 + body end 1 + upsampler conv 1 (LR) + last conv 1 at x2 (0.5 LR px) = 7.5 -> 8
  assert.equal(receptiveRadiusLR(m), 8);
  m.dispose();
});

test('tiles with an overlap of the receptive field reproduce the whole-image output (FP, 1e-4)', () => {
  const m = buildNetwork(config, null, null, Prng.fromSeed(1));
  m.eval();
  const lr = randomImage(37, 29, 5);
  const whole = upscaleRaw(m, lr);
  for (const tile of [8, 13, 20]) {
    const tiled = upscaleRaw(m, lr, { tile });
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i] - tiled[i]));
    assert.ok(worst <= 1e-4, `tile ${tile}: max difference ${worst}`);
  }
  m.dispose();
});

test('a network with dynamic gates refuses to tile, saying why', () => {
  const graph = quantGraphFor(config, { bits: 2, act: 'ddtb' });
  const m = buildNetwork(config, graph, officialRecipe(), Prng.fromSeed(1));
  setDynamicLayers(m, ['body.0.quant_act1']);
  m.eval();
  const before = tf.memory().numTensors;
  assert.throws(() => upscaleRaw(m, randomImage(30, 30, 1), { tile: 10 }), /--tile: this model has dynamic gates, which pool over the whole image/);
  assert.equal(tf.memory().numTensors, before);
  m.dispose();
});
