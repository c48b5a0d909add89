/**
 * The statistics epoch's weight precision (spec 4): with `setQuantMode(..., 'float')` and
 * `setWeightMode(..., 'float')` a quantized EDSR or SRResNet computes its FP network exactly (the
 * asym99 weights pass at 32 bits), while RDN's asym convs stay quantized, as in the official code.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { buildNetwork, ModelConfig, quantGraphFor } from '../../lib/models/factory';
import { officialRecipe } from '../../lib/quant/recipe';
import { setQuantMode, setWeightMode } from '../../lib/train/statistics';
import { Prng } from '../../lib/data/prng';
import { SrNetwork } from '../../lib/models/types';
import { loadWeights } from '../../lib/models/weights';

ensureBackend();

function pair(config: ModelConfig): { fp: SrNetwork; q: SrNetwork } {
  const fp = buildNetwork(config, null, null, Prng.fromSeed(3));
  const q = buildNetwork(config, quantGraphFor(config, { bits: 2, act: 'ddtb' }), officialRecipe(), Prng.fromSeed(4));
  assert.equal(loadWeights(q, { stateDict: fp.stateDict(), file: 'fp', format: 'safetensors', metadata: {}, notes: [] }), 'fp-init');
  fp.eval();
  q.eval();
  return { fp, q };
}

function maxAbsDiff(a: SrNetwork, b: SrNetwork, x: tf.Tensor4D): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a.forward(x).sr, b.forward(x).sr))).dataSync()[0]);
}

for (const config of [
  { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 },
  { arch: 'srresnet', blocks: 2, feats: 8, scale: 2 },
] as ModelConfig[]) {
  test(`${config.arch}: statistics mode (float activations and weights) computes the FP network exactly; quantize mode does not`, () => {
    const before = tf.memory().numTensors;
    const { fp, q } = pair(config);
    const x = tf.randomUniform([1, 9, 11, 3], 0, 255, 'float32', 5) as tf.Tensor4D;
    setQuantMode(q, 'float');
    const changed = setWeightMode(q, 'float');
    assert.ok(changed > 0, 'some convs follow the statistics toggle');
    assert.equal(maxAbsDiff(fp, q, x), 0, 'float weights + float activations = the FP network');
    setWeightMode(q, 'quantize');
    assert.ok(maxAbsDiff(fp, q, x) > 1e-3, 'with quantized weights the output differs');
    x.dispose();
    fp.dispose();
    q.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}

test('rdn: the statistics toggle leaves the asym RDB convs quantized (the official toggle misses them)', () => {
  const config: ModelConfig = { arch: 'rdn', blocks: 2, convsPerBlock: 2, growth: 8, feats: 8, scale: 2 };
  const { fp, q } = pair(config);
  setQuantMode(q, 'float');
  assert.equal(setWeightMode(q, 'float'), 0, 'no RDN conv follows the toggle');
  const x = tf.randomUniform([1, 8, 8, 3], 0, 255, 'float32', 6) as tf.Tensor4D;
  assert.ok(maxAbsDiff(fp, q, x) > 1e-3, 'RDN statistics run on quantized weights');
  x.dispose();
  fp.dispose();
  q.dispose();
});
