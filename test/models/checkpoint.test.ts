/** Our self-describing model checkpoints and the official .pt export. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { officialRecipe } from '../../lib/quant/recipe';
import { setDynamicLayers } from '../../lib/models/dynamic';
import { saveModel, loadModel, exportOfficial } from '../../lib/models/checkpoint';
import { readTorchCheckpoint } from '../../lib/io/torch_import';
import { Prng } from '../../lib/data/prng';

ensureBackend();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-ckpt-'));

test('saveModel / loadModel rebuild the same quantized network, dynamic flags included', async () => {
  const config: ModelConfig = { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 };
  const m = buildNetwork(config, quantGraphFor(config, { bits: 2, act: 'ddtb' }), officialRecipe(), Prng.fromSeed(3));
  setDynamicLayers(m, ['body.1.quant_act2']);
  m.eval();
  const file = path.join(tmp, 'm.safetensors');
  await saveModel(file, m, config, { note: 'test' });
  const { network, metadata } = await loadModel(file, officialRecipe(), Prng.fromSeed(99));
  assert.equal(metadata.note, 'test');
  assert.deepEqual(network.quant!.graph, m.quant!.graph);
  const x = tf.randomUniform([1, 9, 11, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const a = m.forward(x), b = network.forward(x);
  assert.deepEqual(b.sr.dataSync(), a.sr.dataSync());
  tf.dispose([x, a.sr, a.features, b.sr, b.features, ...a.gateLogits.map((g) => g.logits), ...b.gateLogits.map((g) => g.logits)]);
  // The official export holds the same entries under the same names (quant_act2 twice).
  const pt = path.join(tmp, 'm.pt');
  await exportOfficial(pt, network);
  const back = await readTorchCheckpoint(pt);
  assert.deepEqual([...back.stateDict.keys()], [...m.stateDict().keys()]);
  assert.ok(back.stateDict.has('body.1.body.2.alpha_upper') && back.stateDict.has('body.1.quant_act2.alpha_upper'));
  m.dispose(); network.dispose();
});
