/**
 * The statistics epoch and the choice of dynamic layers (spec 4): every activation quantizer runs in
 * `float` mode (x passes unchanged) in eval mode and records each batch's max and min; dynamic
 * intensity DI = Var(maxima) + Var(minima) then ranks the layers, and the top floor(ratio x L) get a
 * dynamic gate. `random` selection (an ablation) draws the same number from our PRNG instead.
 */
import { SrNetwork } from '../models/types';
import { LayerRangeStats, rankDynamicIntensity, selectTopByIntensity, IntensityRow } from '../quant/intensity';
import { QuantMode } from '../quant/types';
import { Prng } from '../data/prng';
import { QuantConv2d } from '../models/blocks';

interface Recording {
  mode: QuantMode;
  readonly statistics: { readonly maxima: number[]; readonly minima: number[]; reset(): void };
}

function recorders(model: SrNetwork): Array<[string, Recording]> {
  if (!model.quant) return [];
  const out: Array<[string, Recording]> = [];
  for (const site of model.quant.graph.acts) {
    if (!site.active) continue;
    const q = model.quant.acts.get(site.name) as unknown as Partial<Recording>;
    if (q && typeof q.mode === 'string' && q.statistics) out.push([site.name, q as Recording]);
  }
  return out;
}

/** Puts every quantizer of `model` in `mode` ('float' = statistics mode, 'quantize'). */
export function setQuantMode(model: SrNetwork, mode: QuantMode): void {
  for (const [, q] of recorders(model)) q.mode = mode;
}

/**
 * Statistics epoch weights (spec 4): `float` lets the weights of every quantized conv whose
 * quantizer the official toggle lists (`asym99`, `sym`) pass at full precision; `quantize` restores
 * them. RDN's `asym` convs stay quantized in both, as in the official code. Returns how many convs
 * changed mode.
 */
export function setWeightMode(model: SrNetwork, mode: QuantMode): number {
  let count = 0;
  for (const [, m] of model.namedModules()) {
    if (m instanceof QuantConv2d && m.quantizer && m.followsStatisticsToggle) {
      m.fullPrecisionWeights = mode === 'float';
      count += 1;
    }
  }
  return count;
}

/** Clears the recorded batch ranges of every quantizer. */
export function resetStatistics(model: SrNetwork): void {
  for (const [, q] of recorders(model)) q.statistics.reset();
}

/** The recorded per-batch ranges of every active quantizer, in forward order. */
export function layerStatistics(model: SrNetwork): LayerRangeStats[] {
  return recorders(model).map(([name, q]) => ({ name, maxima: q.statistics.maxima, minima: q.statistics.minima }));
}

/** Restores recorded ranges (a checkpoint taken during the statistics epoch). */
export interface SavedStatistics { readonly [layer: string]: { readonly maxima: readonly number[]; readonly minima: readonly number[] } }

export type LayerSelection = 'intensity' | 'random';

export interface DynamicChoice {
  readonly ranking: IntensityRow[];
  readonly selected: string[];
  readonly selection: LayerSelection;
}

/** Picks the dynamic layers from recorded statistics. `rng` is used only for `random`. */
export function chooseDynamicLayers(stats: readonly LayerRangeStats[], ratio: number, selection: LayerSelection, rng: Prng): DynamicChoice {
  const ranking = rankDynamicIntensity(stats, ratio);
  if (selection === 'intensity') return { ranking, selected: selectTopByIntensity(ranking, ratio), selection };
  const count = ranking.filter((r) => r.selected).length;
  const order = rng.permutation(stats.length);
  const picked = new Set(order.slice(0, count).map((i) => stats[i].name));
  return { ranking, selected: stats.map((s) => s.name).filter((n) => picked.has(n)), selection };
}
