/**
 * Full-precision pretraining (`ddtb pretrain`'s engine) on synthetic images: the L1 loss falls, a seed
 * reproduces its losses exactly, no tensor is left behind, and the saved model loads back as an FP
 * network with the short-pretrain label and the same outputs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { pretrain, PretrainConfig, savePretrained } from '../../lib/train/pretrain';
import { loadModel } from '../../lib/models/checkpoint';
import { buildNetwork } from '../../lib/models/factory';
import { PatchSource } from '../../lib/data/patches';
import { RgbImage } from '../../lib/data/image';
import { Prng } from '../../lib/data/prng';
import { officialRecipe } from '../../lib/quant/recipe';

/** A smooth synthetic RGB image (sinusoids of different frequency per channel). */
function smoothImage(width: number, height: number, phase: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 100 * Math.sin((x * (c + 1)) / 7 + phase) * Math.cos((y * (3 - c)) / 9 - phase);
        data[(y * width + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return { width, height, data, gray: false };
}

/** 2x2 box downscale: a deterministic LR partner for the x2 pair. */
function halve(img: RgbImage): RgbImage {
  const w = img.width / 2, h = img.height / 2;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) s += img.data[((2 * y + dy) * img.width + 2 * x + dx) * 3 + c];
        data[(y * w + x) * 3 + c] = Math.round(s / 4);
      }
    }
  }
  return { width: w, height: h, data, gray: false };
}

const pairs: PatchSource[] = [0, 1, 2].map((k) => {
  const hr = smoothImage(48, 40, k * 0.9);
  return { name: `synthetic-${k}`, hr, lr: halve(hr) };
});

const config: PretrainConfig = {
  model: { arch: 'edsr', blocks: 1, feats: 8, scale: 2, resScale: 1 },
  iterations: 30, batchSize: 4, patchSizeHR: 16, learningRate: 2e-3, halveEvery: 20, seed: 5,
};

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

test('pretrain lowers the L1 loss, repeats itself for a seed, and leaves no tensors behind', async () => {
  ensureBackend();
  const before = tf.memory().numTensors;
  const a = await pretrain(config, pairs);
  assert.equal(a.losses.length, config.iterations);
  assert.ok(mean(a.losses.slice(-5)) < 0.6 * mean(a.losses.slice(0, 5)),
    `loss ${mean(a.losses.slice(0, 5)).toFixed(2)} -> ${mean(a.losses.slice(-5)).toFixed(2)}: expected it to fall by 40%`);
  const afterTraining = tf.memory().numTensors;
  const fresh = buildNetwork(config.model, null, null, Prng.fromSeed(1));
  const held = tf.memory().numTensors - afterTraining;
  fresh.dispose();
  assert.equal(afterTraining - before, held, 'after training only the network\'s own tensors stay alive (no gradients, moments or batches)');
  const b = await pretrain(config, pairs);
  assert.deepEqual(b.losses, a.losses, 'the same seed gives the same losses');
  b.network.dispose();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-pretrain-'));
  try {
    const file = path.join(dir, 'model.safetensors');
    await savePretrained(file, a, config);
    const loaded = await loadModel(file, officialRecipe(), Prng.fromSeed(1));
    assert.match(loaded.metadata.label, /^short pretrain: 30 iterations of batch 4/);
    assert.equal(loaded.description.graph, null, 'an FP model');
    const x = tf.tensor4d(halve(smoothImage(24, 20, 2.2)).data, [1, 10, 12, 3], 'float32');
    const [ya, yb] = [a.network, loaded.network].map((n) => tf.tidy(() => n.forward(x as tf.Tensor4D).sr.dataSync()));
    assert.deepEqual(Array.from(yb), Array.from(ya), 'the reloaded network computes the same image');
    x.dispose();
    loaded.network.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  a.network.dispose();
  assert.equal(tf.memory().numTensors, before, 'every tensor is released after dispose');
});
