// Filter gradient of a stride-1 convolution, read straight from NHWC x and dy (see conv_filter_grad.h).
//
// The gradient is a sum of outer products: for every output pixel p and tap t, dw[t] gains
// x[p + t] (CI values) times dy[p] (CO values). A register tile holds part of one tap's dw and runs
// along row segments of pixels, one FMA per accumulator and pixel, in pixel order:
//   wide (CO % 16 == 0, AVX-512): R <= 6 input channels x V <= 4 vectors of 16 outputs; per pixel
//     R broadcasts of x and V loads of dy feed R x V FMAs (24 of the 32 registers accumulate);
//   narrow (CO <= 4, CI % 8 == 0, AVX2 or AVX-512): V vectors of input channels x CO outputs, kept
//     transposed ([tap][co][ci]) and turned back at the end; per pixel V loads of x, CO broadcasts.
// Rows are taken in chunks of about kChunkPixels output pixels; within a chunk the outer loop runs
// over blocks of 64 outputs, so the part of dy in use and the chunk's x rows stay in L2 while every
// tap passes over them, and each tile is loaded and stored once per chunk.
//
// Measured on an AVX-512 EPYC (2 threads, 16x48x48 NHWC, 3x3; oneDNN 2.6 ms include its reorders of x
// and dy into the blocked layout, which ConvSameGrad partly shares): 64 -> 64 12.6 ms against
// 14.1 (+1.9), 64 -> 256 49.9 against 55.3 (+5.8), 16x96x96 64 -> 256 208 against 228 (+29; 282 on
// NHWC in place), 16x192x192 64 -> 3 19.3 against 57.7 (+21.5). oneDNN's AVX2 code is about as fast as
// an AVX2 version of the wide tiles, so those run on AVX-512 only. Sums run in the same order as
// oneDNN's: on these shapes the results were bit for bit its own.
#include "conv_filter_grad.h"

#include <immintrin.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstring>
#include <vector>

namespace ddtb {
namespace {

#if defined(__GNUC__) && defined(__x86_64__)
#define DDTB_AVX2 __attribute__((target("avx2,fma")))
#define DDTB_AVX512 __attribute__((target("avx512f")))

/** The pixels one tap sees in one output row: dy from column ox0, x from column ox0 - pl + j. */
struct Segment {
  const float* x;   // x at the first pixel's tap position, channel 0
  const float* dy;  // dy at the first pixel, channel 0
  int64_t length;
};

/** Output pixels per chunk of rows: enough that loading and storing the tiles costs little. */
constexpr int64_t kChunkPixels = 512;
/** Outputs per block of a chunk (four AVX-512 vectors). */
constexpr int64_t kBlockOutputs = 64;

/** Wide tile: dw[t][c0 .. c0+R)[k0 .. k0+16V) += sum over the segments' pixels; `w` at dw[t][c0][k0]. */
template <int R, int V>
DDTB_AVX512 void WideTile(const Segment* segs, int count, int64_t c0, int64_t k0, int64_t ci, int64_t co, float* w) {
  __m512 acc[R][V];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = _mm512_loadu_ps(w + r * co + v * 16);
  for (int s = 0; s < count; s++) {
    const float* xp = segs[s].x + c0;
    const float* dp = segs[s].dy + k0;
    for (int64_t p = 0; p < segs[s].length; p++, xp += ci, dp += co) {
      __m512 d[V];
      for (int v = 0; v < V; v++) d[v] = _mm512_loadu_ps(dp + v * 16);
      for (int r = 0; r < R; r++) {
        const __m512 xb = _mm512_set1_ps(xp[r]);
        for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(xb, d[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) _mm512_storeu_ps(w + r * co + v * 16, acc[r][v]);
}

using WideFn = void (*)(const Segment* segs, int count, int64_t c0, int64_t k0, int64_t ci, int64_t co, float* w);

#define DDTB_WIDE_ROW(R) {WideTile<R, 1>, WideTile<R, 2>, WideTile<R, 3>, WideTile<R, 4>}
/** kWide[R - 1][V - 1]. */
const WideFn kWide[6][4] = {DDTB_WIDE_ROW(1), DDTB_WIDE_ROW(2), DDTB_WIDE_ROW(3),
                            DDTB_WIDE_ROW(4), DDTB_WIDE_ROW(5), DDTB_WIDE_ROW(6)};
#undef DDTB_WIDE_ROW

// The narrow tile for both vector widths: wt[t][k][c0 .. c0 + V * LANES) for k < CO, `w` at wt[t][0][c0].
#define DDTB_NARROW_BODY(VEC, LOAD, STORE, BROADCAST, FMA, LANES)               \
  VEC acc[V][CO];                                                                \
  for (int v = 0; v < V; v++)                                                    \
    for (int k = 0; k < CO; k++) acc[v][k] = LOAD(w + k * ci + v * LANES);       \
  for (int s = 0; s < count; s++) {                                              \
    const float* xp = segs[s].x + c0;                                            \
    const float* dp = segs[s].dy;                                                \
    for (int64_t p = 0; p < segs[s].length; p++, xp += ci, dp += CO) {           \
      VEC xv[V];                                                                 \
      for (int v = 0; v < V; v++) xv[v] = LOAD(xp + v * LANES);                  \
      for (int k = 0; k < CO; k++) {                                             \
        const VEC db = BROADCAST(dp[k]);                                         \
        for (int v = 0; v < V; v++) acc[v][k] = FMA(xv[v], db, acc[v][k]);       \
      }                                                                          \
    }                                                                            \
  }                                                                              \
  for (int v = 0; v < V; v++)                                                    \
    for (int k = 0; k < CO; k++) STORE(w + k * ci + v * LANES, acc[v][k]);

template <int V, int CO>
DDTB_AVX2 void NarrowTile8(const Segment* segs, int count, int64_t c0, int64_t ci, float* w) {
  DDTB_NARROW_BODY(__m256, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}

template <int V, int CO>
DDTB_AVX512 void NarrowTile16(const Segment* segs, int count, int64_t c0, int64_t ci, float* w) {
  DDTB_NARROW_BODY(__m512, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}
#undef DDTB_NARROW_BODY

using NarrowFn = void (*)(const Segment* segs, int count, int64_t c0, int64_t ci, float* w);

/** The narrow tiles of one vector width: fn[V - 1][CO - 1] for V <= max_v, vectors of `lanes` channels. */
struct NarrowSet {
  int64_t lanes;
  int max_v;
  NarrowFn fn[4][4];
};

#define DDTB_NARROW_ROW(F, V) {F<V, 1>, F<V, 2>, F<V, 3>, F<V, 4>}
/** AVX2: V x CO <= 3 x 4 accumulators, 3 vectors of x and a broadcast (16 registers). */
const NarrowSet kNarrow8 = {8, 3, {DDTB_NARROW_ROW(NarrowTile8, 1), DDTB_NARROW_ROW(NarrowTile8, 2),
                                   DDTB_NARROW_ROW(NarrowTile8, 3), {}}};
const NarrowSet kNarrow16 = {16, 4, {DDTB_NARROW_ROW(NarrowTile16, 1), DDTB_NARROW_ROW(NarrowTile16, 2),
                                     DDTB_NARROW_ROW(NarrowTile16, 3), DDTB_NARROW_ROW(NarrowTile16, 4)}};
#undef DDTB_NARROW_ROW

/**
 * Runs rows [row0, row1) of (b, oy) in chunks of about kChunkPixels output pixels: for each chunk,
 * `tiles(block, tap, segments, count)` for every block of outputs (the outer loop) and every tap that
 * has pixels in the chunk.
 */
template <typename Tiles>
void Rows(const FilterGradConv& g, const float* x, const float* dy, int64_t row0, int64_t row1, int64_t blocks,
          Tiles tiles) {
  const int64_t chunk = std::max<int64_t>(1, (kChunkPixels + g.ow / 2) / g.ow);
  const int64_t taps = g.kh * g.kw;
  std::vector<Segment> segs(static_cast<size_t>(chunk * taps));
  std::vector<int> counts(static_cast<size_t>(taps));
  for (int64_t r0 = row0; r0 < row1; r0 += chunk) {
    const int64_t r1 = std::min(row1, r0 + chunk);
    for (int64_t t = 0; t < taps; t++) {
      const int64_t i = t / g.kw, j = t % g.kw;
      const int64_t ox0 = std::max<int64_t>(0, g.pl - j), ox1 = std::min<int64_t>(g.ow, g.iw + g.pl - j);
      int count = 0;
      for (int64_t r = r0; r < r1 && ox1 > ox0; r++) {
        const int64_t b = r / g.oh, oy = r % g.oh, iy = oy - g.pt + i;
        if (iy < 0 || iy >= g.ih) continue;
        segs[t * chunk + count++] = {x + ((b * g.ih + iy) * g.iw + (ox0 - g.pl + j)) * g.ci,
                                     dy + (r * g.ow + ox0) * g.co, ox1 - ox0};
      }
      counts[t] = count;
    }
    for (int64_t block = 0; block < blocks; block++) {
      for (int64_t t = 0; t < taps; t++) {
        if (counts[t] > 0) tiles(block, t, segs.data() + t * chunk, counts[t]);
      }
    }
  }
}

/** Rows into `w` (the layout of dw) with the wide tiles. */
void WideRows(const FilterGradConv& g, const float* x, const float* dy, int64_t row0, int64_t row1, float* w) {
  Rows(g, x, dy, row0, row1, (g.co + kBlockOutputs - 1) / kBlockOutputs,
       [&](int64_t block, int64_t t, const Segment* segs, int count) {
         float* wt = w + t * g.ci * g.co;
         const int64_t k1 = std::min(g.co, (block + 1) * kBlockOutputs);
         for (int64_t c0 = 0; c0 < g.ci; c0 += 6) {
           const int64_t r = std::min<int64_t>(6, g.ci - c0);
           for (int64_t k0 = block * kBlockOutputs; k0 < k1;) {
             const int64_t v = std::min<int64_t>(4, (k1 - k0) / 16);
             kWide[r - 1][v - 1](segs, count, c0, k0, g.ci, g.co, wt + c0 * g.co + k0);
             k0 += v * 16;
           }
         }
       });
}

/** Rows into `wt`, laid out [tap][co][ci], with the narrow tiles of `set`. */
void NarrowRows(const FilterGradConv& g, const NarrowSet& set, const float* x, const float* dy, int64_t row0,
                int64_t row1, float* wt) {
  Rows(g, x, dy, row0, row1, 1, [&](int64_t, int64_t t, const Segment* segs, int count) {
    float* w = wt + t * g.co * g.ci;
    for (int64_t c0 = 0; c0 < g.ci;) {
      const int64_t v = std::min<int64_t>(set.max_v, (g.ci - c0) / set.lanes);
      set.fn[v - 1][g.co - 1](segs, count, c0, g.ci, w + c0);
      c0 += v * set.lanes;
    }
  });
}

bool HasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

bool Narrow(const FilterGradConv& g) { return g.co <= 4 && g.ci % 8 == 0; }

/** Whether a narrow conv runs the AVX-512 tiles (channels in 16s) rather than the AVX2 ones. */
bool NarrowAvx512(const FilterGradConv& g, bool allow_avx512) { return allow_avx512 && HasAvx512() && g.ci % 16 == 0; }
#else
bool HasAvx2Fma() { return false; }
bool HasAvx512() { return false; }
bool Narrow(const FilterGradConv&) { return false; }
bool NarrowAvx512(const FilterGradConv&, bool) { return false; }
#endif

}  // namespace

bool ConvFilterGradSupported(const FilterGradConv& g, bool allow_avx512) {
  if (g.ci <= 0 || g.co <= 0 || !HasAvx2Fma()) return false;
  return Narrow(g) || (allow_avx512 && HasAvx512() && g.co % 16 == 0);
}

const char* ConvFilterGradIsa(const FilterGradConv& g, bool allow_avx512) {
  return Narrow(g) && !NarrowAvx512(g, allow_avx512) ? "avx2" : "avx512";
}

void ConvFilterGrad(const FilterGradConv& g, const float* x, const float* dy, float* dw, bool allow_avx512) {
#if defined(__GNUC__) && defined(__x86_64__)
  const int64_t size = g.kh * g.kw * g.ci * g.co;
  const int64_t rows = g.n * g.oh;
  int threads = 1;
#ifdef _OPENMP
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), rows)));
#endif
  // wide: thread 0 sums into dw itself; narrow: every thread into its own [tap][co][ci] partial
  const bool narrow = Narrow(g);
  const NarrowSet& set = NarrowAvx512(g, allow_avx512) ? kNarrow16 : kNarrow8;
  const int64_t own = narrow ? threads : threads - 1;
  std::vector<float> partials(static_cast<size_t>(size * own));
  auto partial = [&](int t) { return partials.data() + (narrow ? t : t - 1) * size; };
  if (!narrow) std::memset(dw, 0, static_cast<size_t>(size) * sizeof(float));
#pragma omp parallel num_threads(threads)
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    const int64_t row0 = rows * t / threads, row1 = rows * (t + 1) / threads;
    if (narrow) {
      NarrowRows(g, set, x, dy, row0, row1, partial(t));
    } else {
      WideRows(g, x, dy, row0, row1, t == 0 ? dw : partial(t));
    }
  }
  if (narrow) {
    const int64_t taps = g.kh * g.kw;
    for (int64_t t = 0; t < taps; t++)
      for (int64_t c = 0; c < g.ci; c++)
        for (int64_t k = 0; k < g.co; k++) {
          float v = partial(0)[(t * g.co + k) * g.ci + c];
          for (int th = 1; th < threads; th++) v += partial(th)[(t * g.co + k) * g.ci + c];
          dw[(t * g.ci + c) * g.co + k] = v;
        }
    return;
  }
  for (int t = 1; t < threads; t++) {
    const float* p = partial(t);
    for (int64_t e = 0; e < size; e++) dw[e] += p[e];
  }
#else
  (void)g; (void)x; (void)dy; (void)dw; (void)allow_avx512;
#endif
}

}  // namespace ddtb
