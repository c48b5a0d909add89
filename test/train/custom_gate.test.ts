/**
 * The trainer's gate hook (`TrainOptions.gate`): a run trains with the gate design it is given, its
 * model files carry that gate's parameters, and they load back only with the same factory.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { train } from '../../lib/train/loop';
import { readRunLog, IterationRecord } from '../../lib/train/run_log';
import { readSafetensors } from '../../lib/io/safetensors';
import { loadModel } from '../../lib/models/checkpoint';
import { officialRecipe } from '../../lib/quant/recipe';
import { GateFactory, GateScales } from '../../lib/quant/gate';
import { Module } from '../../lib/nn/module';
import { Prng } from '../../lib/data/prng';
import { tinySetup } from './tiny_run';
import { dataRootForTests } from '../helpers';

ensureBackend();
const root = dataRootForTests();

/** A gate with one trainable pair of logits shared by every sample: beta = 2 sigmoid(logit). */
class SharedLogitGate extends Module {
  readonly logit: tf.Variable;
  constructor() {
    super();
    this.logit = this.param('shared_logit', tf.tensor1d([0.5, -0.5]));
  }

  scales(x: tf.Tensor4D): GateScales {
    return tf.tidy(() => {
      const n = x.shape[0];
      const logits = tf.mul(tf.ones([n, 1, 1, 2]), tf.reshape(this.logit, [1, 1, 1, 2]));
      const beta = tf.mul(tf.sigmoid(logits), 2);
      return {
        upper: tf.slice(beta, [0, 0, 0, 0], [n, 1, 1, 1]),
        lower: tf.slice(beta, [0, 0, 0, 1], [n, 1, 1, 1]),
        logits,
      };
    });
  }
}

const sharedLogitGate: GateFactory = () => new SharedLogitGate();
const beta = (logit: number) => 2 / (1 + Math.exp(-logit));

test('train() uses the gate factory it is given, and its model loads back only with that factory', { timeout: 5 * 60 * 1000 }, async () => {
  const { dir, config } = await tinySetup();
  const out = path.join(dir, 'custom');
  const result = await train({ config, outDir: out, dataRoot: root, gate: sharedLogitGate });
  assert.ok(result.dynamic.length >= 1, 'the tiny run selects at least one dynamic layer');

  // The log's gate statistics are this gate's: the same beta for every sample of a batch, and at the
  // first first-stage step (one update of lr 1e-4 away from the initial logits) beta is 2 sigmoid(+-0.5).
  const records = readRunLog(path.join(out, 'log.jsonl')).filter((r): r is IterationRecord => r.kind === 'iteration' && r.phase !== 'statistics');
  const layer = result.dynamic[0];
  const first = records[0].gates[layer];
  assert.ok(first, `the first training step logs the gate of ${layer}`);
  assert.ok(Math.abs(first.betaUpperMean - beta(0.5)) < 1e-6, `beta_u ${first.betaUpperMean} vs ${beta(0.5)}`);
  assert.ok(Math.abs(first.betaLowerMean - beta(-0.5)) < 1e-6, `beta_l ${first.betaLowerMean} vs ${beta(-0.5)}`);
  for (const r of records) assert.equal(r.gates[layer].betaUpperStd, 0, `iteration ${r.iteration}: one beta per batch`);

  // The model file holds the custom gate's parameter (trained: the regulariser and the task loss moved it).
  const file = path.join(out, 'last.safetensors');
  const st = await readSafetensors(file);
  const key = `${layer}.atten_c.shared_logit`;
  assert.ok(st.tensors.has(key), `${key} in ${[...st.tensors.keys()].filter((k) => k.includes('atten_c')).slice(0, 4).join(', ')}`);
  const trained = Array.from(st.tensors.get(key)!.data as Float32Array);
  assert.notDeepEqual(trained, [0.5, -0.5].map(Math.fround), 'the gate parameter was updated');
  assert.ok(![...st.tensors.keys()].some((k) => k.endsWith('.atten_c.5.weight')), 'no official gate weights');

  const { network } = await loadModel(file, officialRecipe({ gate: sharedLogitGate }), Prng.fromSeed(0));
  try {
    const dynamic = network.quant!.graph.acts.filter((a) => a.dynamic).map((a) => a.name);
    assert.deepEqual([...dynamic].sort(), [...result.dynamic].sort(), 'the loaded model has the run\'s dynamic layers');
  } finally {
    network.dispose();
  }
  await assert.rejects(loadModel(file, officialRecipe(), Prng.fromSeed(0)), (e: Error) => {
    assert.match(e.message, /last\.safetensors/);
    return true;
  });
});
