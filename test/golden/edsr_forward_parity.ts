/**
 * Parity of the whole DDTB_EDSR forward and backward (`edsr_forward_*` fixtures, README case 6):
 * a 2-block, 8-feature, x2, 2-bit DDTB EDSR with `body.1.quant_act1` dynamic, in eval mode with the
 * official test-time semantics (flagged layers always dynamic). The fixture's state dict loads through
 * the same name map as real checkpoints (`loadWeights`); `sr`, the distillation features, the dynamic
 * layer's per-sample factors and every gradient of L = sum(g_sr * sr) are compared.
 *
 * Tolerance: values |a - b| <= 1e-6 max|b| + 1e-5 |b| (float32 in another summation order). A conv
 * output that lands within float32 noise of a rounding tie can flip one quantization level and so
 * move a small neighbourhood of `sr`; such elements are counted, capped at 0.1 % of the tensor and
 * reported, never silently accepted.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Fixture, activation, expectedNhwc, expectedHwio, fixtureName, host, scalarOf, stateDictFrom, tensorOf, withinTolerance } from './ddtb_fixture';
import { buildNetwork, quantGraphFor, ModelConfig } from '../../lib/models/factory';
import { officialRecipe } from '../../lib/quant/recipe';
import { loadWeights } from '../../lib/models/weights';
import { quantMapRows } from '../../lib/models/quant_map';
import { Prng } from '../../lib/data/prng';

/** Compares with the value tolerance; elements outside are allowed up to 0.1 % and reported. */
function closeWithFlips(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const r = withinTolerance(actual, expected);
  const cap = Math.floor(expected.length * 0.001);
  if (r.bad > 0) console.log(`${label}: ${r.bad}/${expected.length} elements outside the value tolerance (cap ${cap})`);
  assert.ok(r.bad <= cap, `${label}: ${r.bad}/${expected.length} elements outside |a-b| <= 1e-6 max|b| + 1e-5 |b| (cap ${cap}); worst at ${r.worstAt}: got ${actual[r.worstAt]}, expected ${expected[r.worstAt]}`);
}

export function checkEdsrForward(fx: Fixture): void {
  const name = fixtureName(fx);
  const args = scalarOf<{ n_resblocks: number; n_feats: number; scale: number[]; k_bits: number; res_scale: number }>(fx, 'args');
  const config: ModelConfig = { arch: 'edsr', blocks: args.n_resblocks, feats: args.n_feats, scale: args.scale[0], resScale: args.res_scale };
  const dynamicLayer = scalarOf<string>(fx, 'dynamic_quantizer');
  // Built all-static: the checkpoint's flags must make the dynamic layer dynamic.
  const graph = quantGraphFor(config, { bits: args.k_bits, act: 'ddtb' });
  const model = buildNetwork(config, graph, officialRecipe(), Prng.fromSeed(7));
  try {
    // The fixture's state dict, under its own names and in its own order.
    const keys = scalarOf<string[]>(fx, 'state_dict_keys');
    const sd = stateDictFrom(fx, new Map(keys.map((k) => [k, `state_dict.${k}`])));
    assert.deepEqual([...model.expectedState().keys()], keys, `${name}: our state-dict order is the official one`);
    assert.equal(loadWeights(model, { stateDict: sd, file: name, format: 'zip', metadata: {}, notes: [] }), 'full');
    model.eval();
    // The quantization map lists the quantizers in the official forward order, and the checkpoint's
    // is_dynamic flags are what the map reports as dynamic.
    const rows = quantMapRows(model).filter((r) => r.kind === 'act');
    assert.deepEqual(rows.map((r) => r.name), scalarOf<string[]>(fx, 'quantizers_in_forward_order'));
    assert.deepEqual(rows.filter((r) => r.dynamic).map((r) => r.name), [dynamicLayer]);

    const x = activation(fx, 'input') as tf.Tensor4D;
    const g = activation(fx, 'g_sr');
    const params = model.namedParameters();
    const vars = params.map(([, p]) => p.variable);
    let srHost = new Float64Array(0), featHost = new Float64Array(0);
    let sau = NaN, sal = NaN;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x);
      srHost = host(out.sr);
      featHost = host(out.features);
      const logits = out.gateLogits.find((l) => l.layer === dynamicLayer);
      assert.ok(logits, `${name}: the dynamic layer's gate ran`);
      assert.equal(out.gateLogits.length, 1, `${name}: only the dynamic layer's gate runs`);
      const beta = tf.mul(tf.sigmoid(logits.logits), 2).dataSync();
      [sau, sal] = [beta[0], beta[1]];
      return tf.sum(tf.mul(out.sr, g)) as tf.Scalar;
    }, vars);
    const xGrad = tf.tidy(() => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(model.forward(xi as tf.Tensor4D).sr, g)))(x));

    closeWithFlips(`${name} sr`, srHost, expectedNhwc(fx, 'sr'));
    closeWithFlips(`${name} body_feature`, featHost, expectedNhwc(fx, 'body_feature'));
    assert.ok(Math.abs(sau - tensorOf(fx, `${dynamicLayer}.sau`).data[0]) <= 1e-6, `${name}: sau ${sau}`);
    assert.ok(Math.abs(sal - tensorOf(fx, `${dynamicLayer}.sal`).data[0]) <= 1e-6, `${name}: sal ${sal}`);
    const loss = scalarOf<number>(fx, 'loss');
    assert.ok(Math.abs(value.dataSync()[0] - loss) <= 1e-5 * Math.abs(loss) + 1e-3, `${name}: loss ${value.dataSync()[0]} vs ${loss}`);
    closeWithFlips(`${name} grad_input`, host(xGrad), expectedNhwc(fx, 'grad_input'));

    // Gradients: exactly the parameters the official code leaves without one get none.
    const gradNone = new Set(scalarOf<string[]>(fx, 'grad_none'));
    for (const [pname, p] of params) {
      const got = grads[p.variable.name];
      if (gradNone.has(pname)) {
        assert.equal(got, undefined, `${name}: ${pname} must get no gradient`);
        continue;
      }
      assert.ok(got, `${name}: ${pname} must get a gradient`);
      const expected = p.layout === 'conv' ? expectedHwio(fx, `grad.${pname}`) : Float64Array.from(tensorOf(fx, `grad.${pname}`).data);
      closeWithFlips(`${name} grad.${pname}`, host(got), expected);
    }
    tf.dispose([value, xGrad, x, g, ...Object.values(grads)]);
  } finally {
    model.dispose();
  }
}
