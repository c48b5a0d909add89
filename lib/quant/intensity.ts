/**
 * Dynamic intensity and the choice of dynamic layers (spec section 4). Pure functions on numbers.
 *
 * For each activation quantizer, statistics mode records the max and the min of every batch
 * (`BatchRangeRecorder`); then
 *   DI = Var(batch maxima) + Var(batch minima)      (population variance, numpy's ddof = 0)
 * Quantizers are ranked by DI, highest first (a stable sort: equal DI keep forward order), and the
 * first floor(ratio * L) are made dynamic, L the number of quantizers with statistics (ratios 0.3
 * EDSR, 0.5 RDN, 0.1 SRResNet). Quantizers without statistics (RDN's idle `convs.0.act`) are left
 * out and do not count in L, as in the official code. DI is computed in float64 (the official code
 * uses numpy in the list dtype, float32; the two agree to about 1e-7 relative).
 */

/** One quantizer's recorded per-batch ranges, in call order. */
export interface LayerRangeStats {
  readonly name: string;
  readonly maxima: readonly number[];
  readonly minima: readonly number[];
}

/** One row of the ranking table; rows are in forward order. */
export interface IntensityRow {
  readonly name: string;
  /** Var(maxima) + Var(minima). */
  readonly di: number;
  /** 1 = highest DI. */
  readonly rank: number;
  /** Among the top floor(ratio * L). */
  readonly selected: boolean;
}

/** Population variance (ddof 0), two-pass, float64. Example: [1, 2, 3, 4] -> 1.25. */
export function populationVariance(values: readonly number[]): number {
  if (values.length === 0) throw new Error('populationVariance: no values');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  return sq / values.length;
}

/** DI = Var(maxima) + Var(minima). */
export function dynamicIntensity(maxima: readonly number[], minima: readonly number[]): number {
  return populationVariance(maxima) + populationVariance(minima);
}

/** floor(ratio * count), as the official `int(len(list) * ratio)` (the float product, truncated). */
export function selectedCount(count: number, ratio: number): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`dynamic ratio must be in [0, 1], got ${ratio}`);
  return Math.floor(count * ratio);
}

/**
 * The ranking table in forward order (the order of `layers`), with the top floor(ratio * L) marked.
 * Layers with no recorded batches are left out. Throws on mismatched list lengths or a non-finite DI.
 */
export function rankDynamicIntensity(layers: readonly LayerRangeStats[], ratio: number): IntensityRow[] {
  const measured = layers.filter((l) => l.maxima.length > 0 || l.minima.length > 0);
  const withDi = measured.map((l) => {
    if (l.maxima.length !== l.minima.length) {
      throw new Error(`dynamic intensity: ${l.name} has ${l.maxima.length} maxima but ${l.minima.length} minima`);
    }
    const di = dynamicIntensity(l.maxima, l.minima);
    if (!Number.isFinite(di)) throw new Error(`dynamic intensity: ${l.name} has a non-finite DI (${di})`);
    return { name: l.name, di };
  });
  const order = withDi.map((_, i) => i).sort((a, b) => withDi[b].di - withDi[a].di);
  const rank = new Array<number>(withDi.length);
  order.forEach((idx, pos) => { rank[idx] = pos + 1; });
  const top = selectedCount(withDi.length, ratio);
  return withDi.map((r, i) => ({ name: r.name, di: r.di, rank: rank[i], selected: rank[i] <= top }));
}

/** Names of the top floor(ratio * L) rows of a ranking, highest DI first. */
export function selectTopByIntensity(ranking: readonly IntensityRow[], ratio: number): string[] {
  const top = selectedCount(ranking.length, ratio);
  return [...ranking].sort((a, b) => a.rank - b.rank).slice(0, top).map((r) => r.name);
}
