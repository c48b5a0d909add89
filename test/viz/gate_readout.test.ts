/** lib/viz/gate_readout: per-image gate factors of a quantized network's dynamic layers. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { readGateFactors } from '../../lib/viz/gate_readout';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { setDynamicLayers } from '../../lib/models/dynamic';
import { officialRecipe } from '../../lib/quant/recipe';
import { GateFactory, GateScales } from '../../lib/quant/gate';
import { Module } from '../../lib/nn/module';
import { Prng } from '../../lib/data/prng';
import type { RgbImage } from '../../lib/data/image_types';

ensureBackend();
const model: ModelConfig = { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 };

/** Fixed logits (0.5, -1) for every sample. */
class FixedGate extends Module {
  scales(x: tf.Tensor4D): GateScales {
    return tf.tidy(() => {
      const n = x.shape[0];
      const logits = tf.tile(tf.tensor4d([0.5, -1], [1, 1, 1, 2]), [n, 1, 1, 1]);
      const beta = tf.mul(tf.sigmoid(logits), 2);
      return { upper: tf.slice(beta, [0, 0, 0, 0], [n, 1, 1, 1]), lower: tf.slice(beta, [0, 0, 0, 1], [n, 1, 1, 1]), logits };
    });
  }
}
const fixedGate: GateFactory = () => new FixedGate();

function image(w: number, h: number, seed: number): RgbImage {
  const rng = Prng.fromSeed(seed);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.nextFloat() * 256);
  return { width: w, height: h, data, gray: false };
}

function network(gate?: GateFactory) {
  const graph = quantGraphFor(model, { bits: 2, act: 'ddtb' });
  const net = buildNetwork(model, graph, officialRecipe({ gate, rng: Prng.fromSeed(3) }), Prng.fromSeed(4));
  const names = net.quant!.graph.acts.filter((a) => a.active).map((a) => a.name);
  setDynamicLayers(net, [names[3], names[1]]);
  net.eval();
  return { net, dynamic: [names[1], names[3]] };
}

test('readGateFactors: one entry per dynamic layer in forward order, beta = 2 sigmoid(c), effective bounds', () => {
  const { net, dynamic } = network(fixedGate);
  try {
    const before = tf.memory().numTensors;
    const rows = readGateFactors(net, image(12, 10, 1));
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    assert.deepEqual(rows.map((r) => r.layer), dynamic);
    for (const r of rows) {
      assert.deepEqual(r.logits, [0.5, -1]);
      assert.ok(Math.abs(r.betaUpper - 2 / (1 + Math.exp(-0.5))) < 1e-12);
      assert.ok(Math.abs(r.betaLower - 2 / (1 + Math.exp(1))) < 1e-12);
      const b = net.quant!.acts.get(r.layer)!.bounds();
      assert.deepEqual([r.upper, r.lower], [b.upper, b.lower]);
      assert.equal(r.effectiveUpper, r.betaUpper * b.upper);
      assert.equal(r.effectiveLower, r.betaLower * b.lower);
    }
  } finally {
    net.dispose();
  }
});

test('readGateFactors with the official gate: factors in (0, 2) that depend on the image', () => {
  const { net, dynamic } = network();
  try {
    const a = readGateFactors(net, image(12, 10, 1));
    const b = readGateFactors(net, image(9, 14, 2));
    assert.deepEqual(a.map((r) => r.layer), dynamic);
    for (const r of [...a, ...b]) {
      assert.ok(r.betaUpper > 0 && r.betaUpper < 2 && r.betaLower > 0 && r.betaLower < 2, `${r.layer}: ${r.betaUpper}, ${r.betaLower}`);
    }
    assert.notDeepEqual(a.map((r) => r.logits), b.map((r) => r.logits), 'two different images give different gate outputs');
  } finally {
    net.dispose();
  }
});

test('readGateFactors: a network without dynamic layers gives none; an FP network is an error', () => {
  const graph = quantGraphFor(model, { bits: 2, act: 'ddtb' });
  const net = buildNetwork(model, graph, officialRecipe(), Prng.fromSeed(4)).eval();
  const fp = buildNetwork(model, null, null, Prng.fromSeed(4));
  try {
    assert.deepEqual(readGateFactors(net, image(8, 8, 3)), []);
    assert.throws(() => readGateFactors(fp, image(8, 8, 3)), /full-precision network has no gates/);
  } finally {
    net.dispose();
    fp.dispose();
  }
});
