// Forward convolution with 1-4 output channels on AVX2 + FMA (see conv_narrow.h).
//
// Vectors run over 8 input channels; a block of P neighbouring output pixels shares each load of
// the filter, and keeps P x CO accumulators (P = 12 / CO: 12 of the 16 ymm registers). Pixels whose
// taps leave the image (the padded border) go one at a time, skipping the taps outside. The filter
// is first transposed to [tap][co][ci] so each tap's channels are contiguous.
#include "conv_narrow.h"

#include <immintrin.h>

#include <cmath>
#include <memory>
#include <vector>

namespace ddtb {
namespace {

#if defined(__GNUC__) && defined(__x86_64__)
#define DDTB_AVX2 __attribute__((target("avx2,fma")))

DDTB_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

/** The output value: bias added, then ReLU that keeps NaN and turns -0 into +0 (Math.max(0, v)). */
inline float Finish(float v, const float* bias, int64_t k, bool relu) {
  if (bias != nullptr) v += bias[k];
  if (relu && !(v > 0.0f) && !std::isnan(v)) v = 0.0f;
  return v;
}

/** P pixels of one output row starting at column ox, all taps inside the image. */
template <int CO, int P>
DDTB_AVX2 void Block(const NarrowConv& g, const float* x, const float* wt, const float* bias, bool relu,
                     int64_t b, int64_t oy, int64_t ox, float* yrow) {
  __m256 acc[P][CO];
  for (int p = 0; p < P; p++)
    for (int k = 0; k < CO; k++) acc[p][k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < g.kh; i++) {
    const int64_t iy = oy - g.pt + i;
    if (iy < 0 || iy >= g.ih) continue;
    const float* xr = x + ((b * g.ih + iy) * g.iw + (ox - g.pl)) * g.ci;
    for (int64_t j = 0; j < g.kw; j++) {
      const float* xp = xr + j * g.ci;
      const float* wp = wt + (i * g.kw + j) * CO * g.ci;
      for (int64_t c = 0; c < g.ci; c += 8) {
        __m256 wv[CO];
        for (int k = 0; k < CO; k++) wv[k] = _mm256_loadu_ps(wp + k * g.ci + c);
        for (int p = 0; p < P; p++) {
          const __m256 xv = _mm256_loadu_ps(xp + p * g.ci + c);
          for (int k = 0; k < CO; k++) acc[p][k] = _mm256_fmadd_ps(xv, wv[k], acc[p][k]);
        }
      }
    }
  }
  for (int p = 0; p < P; p++)
    for (int k = 0; k < CO; k++) yrow[(ox + p) * CO + k] = Finish(HorizontalSum(acc[p][k]), bias, k, relu);
}

/** One output pixel, skipping the taps outside the image. */
template <int CO>
DDTB_AVX2 void Pixel(const NarrowConv& g, const float* x, const float* wt, const float* bias, bool relu,
                     int64_t b, int64_t oy, int64_t ox, float* yrow) {
  __m256 acc[CO];
  for (int k = 0; k < CO; k++) acc[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < g.kh; i++) {
    const int64_t iy = oy - g.pt + i;
    if (iy < 0 || iy >= g.ih) continue;
    for (int64_t j = 0; j < g.kw; j++) {
      const int64_t ix = ox - g.pl + j;
      if (ix < 0 || ix >= g.iw) continue;
      const float* xp = x + ((b * g.ih + iy) * g.iw + ix) * g.ci;
      const float* wp = wt + (i * g.kw + j) * CO * g.ci;
      for (int64_t c = 0; c < g.ci; c += 8) {
        const __m256 xv = _mm256_loadu_ps(xp + c);
        for (int k = 0; k < CO; k++) acc[k] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wp + k * g.ci + c), acc[k]);
      }
    }
  }
  for (int k = 0; k < CO; k++) yrow[ox * CO + k] = Finish(HorizontalSum(acc[k]), bias, k, relu);
}

template <int CO>
void Run(const NarrowConv& g, const float* x, const float* wt, const float* bias, bool relu, float* y) {
  constexpr int P = 12 / CO;
  // columns whose taps all lie inside: ox - pl >= 0 and ox - pl + kw - 1 < iw
  const int64_t first = g.pl, last = g.iw - g.kw + g.pl;  // interior columns [first, last]
  const int64_t rows = g.n * g.oh;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t b = r / g.oh, oy = r % g.oh;
    float* yrow = y + r * g.ow * CO;
    int64_t ox = 0;
    for (; ox < g.ow && ox < first; ox++) Pixel<CO>(g, x, wt, bias, relu, b, oy, ox, yrow);
    for (; ox + P - 1 <= last && ox + P <= g.ow; ox += P) Block<CO, P>(g, x, wt, bias, relu, b, oy, ox, yrow);
    for (; ox < g.ow; ox++) Pixel<CO>(g, x, wt, bias, relu, b, oy, ox, yrow);
  }
}

bool HasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#else
bool HasAvx2Fma() { return false; }
#endif

}  // namespace

bool NarrowConvSupported(const NarrowConv& g) {
  return HasAvx2Fma() && g.co >= 1 && g.co <= 4 && g.ci % 8 == 0 && g.ci > 0;
}

void NarrowConvForward(const NarrowConv& g, const float* x, const float* w, const float* bias, bool relu, float* y) {
#if defined(__GNUC__) && defined(__x86_64__)
  const int64_t taps = g.kh * g.kw;
  std::vector<float> wt(static_cast<size_t>(taps * g.co * g.ci));
  for (int64_t t = 0; t < taps; t++)
    for (int64_t c = 0; c < g.ci; c++)
      for (int64_t k = 0; k < g.co; k++) wt[(t * g.co + k) * g.ci + c] = w[(t * g.ci + c) * g.co + k];
  switch (g.co) {
    case 1: Run<1>(g, x, wt.data(), bias, relu, y); break;
    case 2: Run<2>(g, x, wt.data(), bias, relu, y); break;
    case 3: Run<3>(g, x, wt.data(), bias, relu, y); break;
    default: Run<4>(g, x, wt.data(), bias, relu, y); break;
  }
#else
  (void)g; (void)x; (void)w; (void)bias; (void)relu; (void)y;
#endif
}

}  // namespace ddtb
