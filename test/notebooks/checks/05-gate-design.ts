/**
 * Re-check of notebooks/05-gate-design.ipynb: the four designs were all scored on the same images,
 * each design's gate parameters agree with its cost formula (official gate: 32C + 64 weights and 64
 * BatchNorm parameters per gate, spec 9.3; the notebook's moments gate: 2C x hidden + 2 x hidden),
 * the gated designs share their dynamic layers (floor(ratio x 24) of EDSR-8's quantizers) and the
 * new gate's first logged factors are exactly 1; plus the figure's PSNR bars against the scores.
 */
import * as assert from 'node:assert/strict';
import { ExecutedNotebook, checkNamed, numberOf } from './types';

export function recheck(run: ExecutedNotebook): void {
  const r = run.report;

  const scored = checkNamed(r, 'every design trained and was scored on the same images');
  const designs = scored.values!.designs as string[];
  assert.deepEqual(designs, ['official', 'straight-through', 'no gate', 'moments 4-bit']);
  const psnr = scored.values!.psnr as number[][];
  assert.equal(psnr.length, designs.length);
  for (const [i, p] of psnr.entries()) {
    assert.equal(p.length, psnr[0].length, `${designs[i]}: other image count`);
    for (const v of p) assert.ok(Number.isFinite(v) && v > 10 && v < 60, `${designs[i]}: PSNR ${v}`);
  }

  const cost = checkNamed(r, 'the declared gate costs match the gate parameters in each network');
  const counted = cost.values!.counted as number[];
  const channels = cost.values!.channels as number[][];
  const hidden = numberOf(cost, 'newGateHidden');
  const official = (cs: number[]) => cs.reduce((s, c) => s + 32 * c + 64 + 64, 0);
  assert.equal(counted[0], official(channels[0]), 'official gate parameters');
  assert.equal(counted[1], official(channels[1]), 'straight-through gate parameters');
  assert.equal(counted[2], 0, 'no gate');
  assert.deepEqual(channels[2], []);
  assert.equal(counted[3], channels[3].reduce((s, c) => s + 2 * c * hidden + 2 * hidden, 0), 'moments gate parameters');
  assert.deepEqual(cost.values!.declaredWeights, channels.map((cs, i) => cs.reduce((s, c) => s + (i === 3 ? 2 * c * hidden + 2 * hidden : 32 * c + 64), 0)));

  const same = checkNamed(r, 'every gated design gates the same layers; no gate gates none');
  const dynamic = same.values!.dynamic as string[][];
  const sorted = (a: string[]) => [...a].sort();
  assert.deepEqual(sorted(dynamic[1]), sorted(dynamic[0]));
  assert.deepEqual(sorted(dynamic[3]), sorted(dynamic[0]));
  assert.deepEqual(dynamic[2], []);
  // EDSR-8 has 24 activation quantizers (3 per block).
  assert.equal(dynamic[0].length, Math.floor(numberOf(same, 'ratio') * 24));
  for (const [i, cs] of channels.entries()) assert.equal(cs.length, dynamic[i].length);

  const identity = checkNamed(r, 'the new gate starts as the identity');
  const gates = identity.values!.gates as Record<string, { betaUpperMean: number; betaLowerMean: number; betaUpperStd: number; betaLowerStd: number }>;
  assert.deepEqual(sorted(Object.keys(gates)), sorted(dynamic[3]));
  for (const [layer, g] of Object.entries(gates)) {
    assert.deepEqual([g.betaUpperMean, g.betaLowerMean, g.betaUpperStd, g.betaLowerStd], [1, 1, 0, 0], layer);
  }

  // The PSNR panel of the figure shows each design's mean over its images minus the gate-less run's.
  const fig = run.figures.find((f) => (f.layout as { title?: { text?: string } } | undefined)?.title?.text === 'Gate designs: quality and overhead');
  assert.ok(fig, 'no quality/overhead figure');
  const bars = fig.data.filter((t) => t.type === 'bar' && t.xaxis === 'x') as unknown as Array<{ x: string[]; y: number[] }>;
  const shown = new Map<string, number>();
  for (const t of bars) t.x.forEach((name, k) => shown.set(name, t.y[k]));
  const mean = (i: number) => psnr[i].reduce((a, b) => a + b, 0) / psnr[i].length;
  const noGate = designs.indexOf('no gate');
  assert.ok(noGate >= 0, 'no "no gate" design');
  designs.forEach((d, i) => {
    const expected = mean(i) - mean(noGate);
    assert.ok(Math.abs(shown.get(d)! - expected) < 1e-9, `${d}: bar ${shown.get(d)} vs mean minus no gate ${expected}`);
  });
}
