/**
 * Observers: statistics the quantizers collect from their inputs. Host-side code on plain arrays;
 * nothing here is differentiable.
 *
 * - `percentiles`: numpy 1.24's `np.percentile(a, q)` with the default `linear` method, exactly
 *   (spec 2.6 and 5.1, fixture README "Numerics" item 4), using a selection algorithm for the order
 *   statistics instead of a sort (spec 12.8: the asym99 weight quantizer needs two percentiles of a
 *   36,864-weight tensor on every forward);
 * - `BatchRangeRecorder`: the per-call max and min of a whole batch tensor (statistics mode, spec 2.5),
 *   the raw material of the dynamic intensity (spec 4, `intensity.ts`).
 */
import * as tf from '@tensorflow/tfjs';

/** Element type of the data a percentile is taken of; numpy does the `b - a` step in this type. */
export type HostDtype = 'float32' | 'float64';

/**
 * numpy 1.24 `np.percentile(values, q)` (method `linear`), for each q in `qs` (percent, 0..100).
 * Returns float64 values; the DDTB code then rounds them to float32 (`Math.fround`).
 *
 * numpy's steps, reproduced here operation by operation:
 *   quantile  = q / 100                         (float64)
 *   index     = (n - 1) * quantile              (float64, the "virtual index")
 *   i = floor(index), j = i + 1, both n - 1 when index >= n - 1;  t = index - i
 *   a, b      = the i-th and j-th smallest values
 *   d         = b - a                           (in the data's dtype: float32 for float32 data)
 *   result    = t >= 0.5 ? b - d * (1 - t) : a + d * t   (float64)
 * Example: percentiles([1, 2, 3, 4], [50]) = [2.5]; percentiles([0, 10], [75]) = [7.5] (t >= 0.5 branch).
 *
 * `values` is not modified. `dtype` defaults to float32 for a Float32Array, else float64.
 * Throws on an empty input, NaN or infinite values, or q outside [0, 100].
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[], dtype?: HostDtype): number[] {
  const n = values.length;
  if (n === 0) throw new Error('percentiles: empty input');
  const kind: HostDtype = dtype ?? (values instanceof Float32Array ? 'float32' : 'float64');
  const work = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(work[i])) throw new Error(`percentiles: non-finite value ${work[i]} at index ${i}`);
  }
  const plans = qs.map((q) => {
    if (!(q >= 0 && q <= 100)) throw new Error(`percentiles: q must be in [0, 100], got ${q}`);
    const index = (n - 1) * (q / 100);
    let i = Math.floor(index);
    let j = i + 1;
    if (index >= n - 1) { i = n - 1; j = n - 1; }
    return { index, i, j };
  });
  const needed = [...new Set(plans.flatMap((p) => [p.i, p.j]))].sort((a, b) => a - b);
  selectOrderStatistics(work, needed);
  return plans.map(({ index, i, j }) => {
    const t = index - i;
    const a = work[i];
    const b = work[j];
    const d = kind === 'float32' ? Math.fround(b - a) : b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
  });
}

/** One percentile; see `percentiles`. */
export function percentile(values: ArrayLike<number>, q: number, dtype?: HostDtype): number {
  return percentiles(values, [q], dtype)[0];
}

/**
 * Rearranges `a` in place so that, for every k in `ks` (ascending, unique, in [0, a.length)), a[k]
 * holds the k-th smallest value (0-based), as a full ascending sort would put it. Selects the
 * largest k first, then each smaller k within the part left of the previous one, so positions
 * already fixed are never disturbed. Expected O(n) per order statistic.
 */
export function selectOrderStatistics(a: Float64Array, ks: readonly number[]): void {
  let limit = a.length; // positions >= limit are final
  for (let m = ks.length - 1; m >= 0; m--) {
    const k = ks[m];
    if (!(Number.isInteger(k) && k >= 0 && k < limit)) {
      throw new Error(`selectOrderStatistics: indices must be ascending, unique and in range, got ${ks.join(',')}`);
    }
    selectKth(a, k, 0, limit - 1);
    limit = k;
  }
}

/**
 * Quickselect (nth_element) on a[left..right] (inclusive): afterwards a[k] is the value a sort of that
 * range would put there, everything left of k is <= a[k] and everything right is >= a[k].
 * Three-way partitioning around a median-of-three pivot keeps inputs with many equal values (exact
 * zeros after a ReLU) linear; a range that refuses to shrink is finished by a sort.
 */
export function selectKth(a: Float64Array, k: number, left: number, right: number): void {
  let lo = left;
  let hi = right;
  let rounds = 0;
  while (hi > lo) {
    if (k === hi) { swapExtreme(a, lo, hi, k, true); return; }
    if (k === lo) { swapExtreme(a, lo, hi, k, false); return; }
    if (hi - lo < 16 || rounds > 64) {
      a.subarray(lo, hi + 1).sort();
      return;
    }
    rounds++;
    const mid = lo + ((hi - lo) >> 1);
    const pivot = median3(a[lo], a[mid], a[hi]);
    // Dutch national flag: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i];
      if (v < pivot) { a[i] = a[lt]; a[lt] = v; lt++; i++; }
      else if (v > pivot) { a[i] = a[gt]; a[gt] = v; gt--; }
      else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return;
  }
}

/** Moves the max (or min) of a[lo..hi] to position k (= hi or lo) with one scan. */
function swapExtreme(a: Float64Array, lo: number, hi: number, k: number, max: boolean): void {
  let best = lo;
  for (let i = lo + 1; i <= hi; i++) if (max ? a[i] > a[best] : a[i] < a[best]) best = i;
  const v = a[best]; a[best] = a[k]; a[k] = v;
}

function median3(x: number, y: number, z: number): number {
  if (x < y) return y < z ? y : x < z ? z : x;
  return x < z ? x : y < z ? z : y;
}

/**
 * Per-call max and min of a whole batch tensor (over all N*H*W*C elements), in call order: the
 * official `fp_max_list` / `fp_min_list` of statistics mode (spec 2.5). Values are float32.
 */
export class BatchRangeRecorder {
  private readonly max: number[] = [];
  private readonly min: number[] = [];

  /** Records max(x) and min(x). Reads two numbers back from the backend. */
  record(x: tf.Tensor): void {
    if (x.size === 0) throw new Error('BatchRangeRecorder: empty tensor');
    const t = tf.tidy(() => tf.stack([tf.max(x), tf.min(x)]));
    const [mx, mn] = t.dataSync();
    t.dispose();
    this.max.push(mx);
    this.min.push(mn);
  }

  /** Recorded maxima, one per call (a copy). */
  get maxima(): number[] { return [...this.max]; }
  /** Recorded minima, one per call (a copy). */
  get minima(): number[] { return [...this.min]; }
  get count(): number { return this.max.length; }

  reset(): void {
    this.max.length = 0;
    this.min.length = 0;
  }

  /** Replaces the record with saved values (a checkpoint taken during the statistics epoch). */
  restore(maxima: readonly number[], minima: readonly number[]): void {
    if (maxima.length !== minima.length) throw new Error('BatchRangeRecorder.restore: maxima and minima differ in length');
    this.max.splice(0, this.max.length, ...maxima);
    this.min.splice(0, this.min.length, ...minima);
  }
}
