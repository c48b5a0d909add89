/**
 * Model structure: official state-dict names and shapes, parameter counts (spec 9.3), the
 * quantization map, pixel-shuffle order, teacher and student side by side, no leaked tensors.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { buildNetwork, defaultModelConfig, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { complexity } from '../../lib/models/complexity';
import { quantMapRows, summarizeQuantMap } from '../../lib/models/quant_map';
import { pixelShuffle } from '../../lib/models/pixel_shuffle';
import { officialRecipe } from '../../lib/quant/recipe';
import { withDynamic } from '../../lib/quant/graph';
import { Prng } from '../../lib/data/prng';
import { sharedPath } from '../helpers';

ensureBackend();

test('pixel shuffle follows PyTorch: output (i, j) of feature c reads channel c*r*r + i*r + j', () => {
  const r = 2, c = 3;
  const x = tf.tensor4d(Array.from({ length: c * r * r }, (_, k) => k), [1, 1, 1, c * r * r]);
  const y = pixelShuffle(x, r);
  assert.deepEqual(y.shape, [1, 2, 2, 3]);
  const v = y.arraySync()[0];
  for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) for (let f = 0; f < c; f++) assert.equal(v[i][j][f], f * r * r + i * r + j);
  tf.dispose([x, y]);
});

test('parameter counts: EDSR-baseline, RDN (spec 9.3), and EDSR-8 as in reference.json', () => {
  const expected: Array<[ModelConfig, number]> = [
    [defaultModelConfig('edsr', 2), 1369859], [defaultModelConfig('edsr', 4), 1517571],
    [defaultModelConfig('rdn', 2), 22123395], [defaultModelConfig('rdn', 4), 22271107],
    [{ arch: 'edsr', blocks: 8, feats: 64, scale: 2, resScale: 1 }, 779011],
  ];
  for (const [config, count] of expected) {
    const m = buildNetwork(config, null, null, Prng.fromSeed(1));
    assert.equal(complexity(m, 1, 1).parameters, count, `${config.arch} x${config.scale}`);
    m.dispose();
  }
  // MACs per LR pixel (spec 9.3 table): EDSR x2 1.373 M, x4 1.983 M; RDN x2 22.12 M, x4 22.73 M.
  const macs = (c: ModelConfig) => { const m = buildNetwork(c, null, null, Prng.fromSeed(1)); const n = complexity(m, 1, 1).macs; m.dispose(); return n; };
  assert.equal(Math.round(macs(defaultModelConfig('edsr', 2)) / 1e3), 1373);
  assert.equal(Math.round(macs(defaultModelConfig('edsr', 4)) / 1e3), 1983);
  assert.equal(Math.round(macs(defaultModelConfig('rdn', 2)) / 1e4), 2212);
  assert.equal(Math.round(macs(defaultModelConfig('rdn', 4)) / 1e4), 2273);
});

test('FP EDSR-8 state dict has the keys and shapes of the shared weights', () => {
  const ref = JSON.parse(fs.readFileSync(sharedPath('weights', 'reference.json'), 'utf8'));
  for (const scale of [2, 4]) {
    const m = buildNetwork({ arch: 'edsr', blocks: 8, feats: 64, scale, resScale: 1 }, null, null, Prng.fromSeed(1));
    const ours = [...m.expectedState()].map(([k, v]) => [k, v.shape]);
    assert.deepEqual(ours, Object.entries(ref.models[`x${scale}`].keys));
    m.dispose();
  }
});

test('quantization map: 48 quantizers and 32 convs for DDTB-EDSR-baseline, 145 active for RDN, 32 for SRResNet; gate cost', () => {
  const edsrGraph = quantGraphFor(defaultModelConfig('edsr', 4), { bits: 2, act: 'ddtb' });
  const edsr = buildNetwork(defaultModelConfig('edsr', 4), edsrGraph, officialRecipe(), Prng.fromSeed(1));
  const rows = quantMapRows(edsr);
  assert.equal(rows.filter((r) => r.kind === 'act').length, 48);
  assert.equal(rows.filter((r) => r.kind === 'conv').length, 32);
  assert.deepEqual(rows.slice(0, 5).map((r) => r.name), ['body.0.quant_act1', 'body.0.body.0', 'body.0.quant_act2', 'body.0.body.3', 'body.0.quant_act3']);
  assert.deepEqual(rows[0], { kind: 'act', name: 'body.0.quant_act1', channels: 64, bits: 2, dynamic: false, active: true, upper: 10, lower: -10, weight: null, input: null });
  // EDSR's 14 gates (30 % of 48): 14 x (32 x 64 + 64) = 29,568 weights.
  const dynamicNames = edsrGraph.acts.slice(0, 14).map((a) => a.name);
  const dynGraph = withDynamic(edsrGraph, dynamicNames);
  const dyn = buildNetwork(defaultModelConfig('edsr', 4), dynGraph, officialRecipe(), Prng.fromSeed(1));
  const cost = complexity(dyn, 48, 48);
  assert.equal(cost.gates.weights, 29568);
  assert.equal(cost.gates.count, 14);
  assert.equal(cost.quantizedParameters, 1179648);
  assert.equal(cost.parameters, 1517571);
  assert.match(summarizeQuantMap(quantMapRows(dyn)), /^48 activation quantizers \(48 active, 14 dynamic\), 32 quantized convs$/);
  edsr.dispose(); dyn.dispose();
  const rdn = buildNetwork(defaultModelConfig('rdn', 4), quantGraphFor(defaultModelConfig('rdn', 4), { bits: 2, act: 'ddtb' }), officialRecipe(), Prng.fromSeed(1));
  const rdnRows = quantMapRows(rdn).filter((r) => r.kind === 'act');
  assert.equal(rdnRows.filter((r) => r.active).length, 145);
  assert.equal(rdnRows.length, 161);
  assert.deepEqual([...new Set(rdnRows.map((r) => r.channels))].sort((a, b) => a - b), [64, 128, 192, 256, 320, 384, 448, 512, 576, 1024]);
  rdn.dispose();
  const sr = buildNetwork(defaultModelConfig('srresnet', 4), quantGraphFor(defaultModelConfig('srresnet', 4), { bits: 2, act: 'ddtb' }), officialRecipe(), Prng.fromSeed(1));
  assert.equal(quantMapRows(sr).filter((r) => r.kind === 'act').length, 32);
  sr.dispose();
});

const tinyConfigs: ModelConfig[] = [
  { arch: 'edsr', blocks: 2, feats: 8, scale: 2, resScale: 1 },
  { arch: 'rdn', blocks: 2, convsPerBlock: 3, growth: 8, feats: 8, scale: 2 },
  { arch: 'srresnet', blocks: 2, feats: 8, scale: 2 },
];

for (const config of tinyConfigs) {
  test(`${config.arch}: teacher and student with the same official names live together; forward + backward leak nothing`, () => {
    const before = tf.memory().numTensors;
    const teacher = buildNetwork(config, null, null, Prng.fromSeed(1));
    const graph = quantGraphFor(config, { bits: 2, act: 'ddtb' });
    const dynamic = graph.acts.filter((a) => a.active)[1].name;
    const student = buildNetwork(config, withDynamic(graph, [dynamic]), officialRecipe(), Prng.fromSeed(2));
    student.loadStateDict(new Map([...teacher.stateDict()].map(([k, v]) => [k.replace(/^(body\.\d+\.body\.)2\./, '$13.'), v])),
      { strict: false, allowMissing: (n) => graph.acts.some((a) => n.startsWith(`${a.name}.`)) || /body\.\d+\.body\.2\./.test(n) });
    const x = tf.randomUniform([2, 12, 12, 3], 0, 255, 'float32', 3) as tf.Tensor4D;
    const afterBuild = tf.memory().numTensors;
    for (let step = 0; step < 2; step++) {
      const t = teacher.forward(x);
      const { value, grads } = tf.variableGrads(() => {
        const s = student.forward(x);
        assert.deepEqual(s.gateLogits.map((g) => g.layer), [dynamic]);
        const reg = tf.mean(tf.square(s.gateLogits[0].logits));
        return tf.addN([tf.mean(tf.abs(tf.sub(s.sr, t.sr))), tf.mean(tf.square(tf.sub(s.features, t.features))), reg]) as tf.Scalar;
      });
      assert.ok(Number.isFinite(value.dataSync()[0]));
      assert.ok(Object.keys(grads).length > 0);
      tf.dispose([value, t.sr, t.features, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, afterBuild, `step ${step}: tensors leaked (${tf.memory().numTensors - afterBuild})`);
    }
    // A second student (a re-run notebook cell) builds fine beside the first.
    const again = buildNetwork(config, graph, officialRecipe(), Prng.fromSeed(2));
    again.dispose(); student.dispose(); teacher.dispose(); x.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}
