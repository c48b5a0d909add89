/** lib/models/capture: FP-weight quantized graphs in statistics mode, and capturing quantizer inputs. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { captureQuantizerInputs, fullPrecisionWeightsRecipe } from '../../lib/models/capture';
import { loadWeights } from '../../lib/models/weights';
import { setQuantMode } from '../../lib/train/statistics';
import { officialRecipe } from '../../lib/quant/recipe';
import { DdtbActQuantizer } from '../../lib/quant/ddtb_act';
import { Prng } from '../../lib/data/prng';
import { SrNetwork } from '../../lib/models/types';

ensureBackend();
const config: ModelConfig = { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 };

/** An FP EDSR and the same weights in a 2-bit DDTB graph whose weights stay FP, quantizers in float mode. */
function pair(): { fp: SrNetwork; q: SrNetwork } {
  const fp = buildNetwork(config, null, null, Prng.fromSeed(5));
  fp.eval();
  const q = buildNetwork(config, quantGraphFor(config, { bits: 2, act: 'ddtb' }), fullPrecisionWeightsRecipe(officialRecipe()), Prng.fromSeed(6));
  assert.equal(loadWeights(q, { stateDict: fp.stateDict(), file: 'fp', format: 'safetensors', metadata: {}, notes: [] }), 'fp-init');
  q.eval();
  setQuantMode(q, 'float');
  return { fp, q };
}

test('float mode with FP weights computes the FP network exactly, and captures each call of the named quantizers', () => {
  const { fp, q } = pair();
  const x1 = tf.randomUniform([1, 7, 9, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const x2 = tf.randomUniform([2, 5, 6, 3], 0, 255, 'float32', 2) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const names = ['body.0.quant_act1', 'body.1.quant_act3'];
  const { result, inputs } = captureQuantizerInputs(q, names, () => [x1, x2].map((x) => {
    const out = q.forward(x);
    out.features.dispose();
    return out.sr;
  }));
  assert.equal(tf.memory().numTensors, before + 2, 'only the two outputs stay');
  const expected = [x1, x2].map((x) => { const out = fp.forward(x); out.features.dispose(); return out.sr; });
  assert.deepEqual(result[0].dataSync(), expected[0].dataSync());
  assert.deepEqual(result[1].dataSync(), expected[1].dataSync());
  assert.deepEqual([...inputs.keys()], names);
  for (const name of names) {
    const got = inputs.get(name)!;
    assert.deepEqual(got.map((c) => c.shape), [[1, 7, 9, 8], [2, 5, 6, 8]]);
    assert.equal(got[1].values.length, 2 * 5 * 6 * 8);
    // The copies are what the quantizer saw: its own statistics recorded the same max and min.
    const stats = (q.quant!.acts.get(name) as DdtbActQuantizer).statistics;
    assert.deepEqual(got.map((c) => Math.max(...c.values)), stats.maxima);
    assert.deepEqual(got.map((c) => Math.min(...c.values)), stats.minima);
  }
  // Block 0's skip quantizer sees the head conv output; its input is not post-ReLU (negative values).
  assert.ok(Math.min(...inputs.get('body.0.quant_act1')![0].values) < 0);
  // Restored: no own apply left on the instances, and further calls capture nothing.
  for (const name of names) assert.equal(Object.prototype.hasOwnProperty.call(q.quant!.acts.get(name), 'apply'), false);
  const again = q.forward(x1);
  assert.equal(inputs.get(names[0])!.length, 2);
  tf.dispose([x1, x2, ...result, ...expected, again.sr, again.features]);
  fp.dispose(); q.dispose();
});

test('captureQuantizerInputs: unknown layers and FP networks are errors, and a throwing run restores the quantizers', () => {
  const { fp, q } = pair();
  assert.throws(() => captureQuantizerInputs(q, ['body.9.quant_act1'], () => 0),
    /captureQuantizerInputs: body\.9\.quant_act1 is not an activation quantizer of this network \(6 known: body\.0\.quant_act1/);
  assert.throws(() => captureQuantizerInputs(fp, ['body.0.quant_act1'], () => 0), /a full-precision network has no quantizers/);
  assert.throws(() => captureQuantizerInputs(q, ['body.0.quant_act2'], () => { throw new Error('boom'); }), /boom/);
  assert.equal(Object.prototype.hasOwnProperty.call(q.quant!.acts.get('body.0.quant_act2'), 'apply'), false);
  fp.dispose(); q.dispose();
});
