// The DDTB fake quantization (lib/quant/ddtb_act.ts, spec 2.2-2.4) fused into one pass forward and
// one pass backward, with exactly the float32 operations of the composite tfjs formula, in its order:
//
//   c   = max(min(x, u), l)              Math.min / Math.max semantics (NaN wins, -0 below +0)
//   s   = fl(fl(1 / fl(u - l)) * n)      n = 2^k - 1
//   z   = fl(nearbyint(fl(s * l)) + 2^(k-1))
//   q   = nearbyint(fl(fl(s * c) - z))
//   out = fl(fl(q + z) / s)
//
// nearbyint under the default rounding mode rounds half to even, as tfjs's Round; the build has
// -ffp-contract=off and no fast-math, so every line above stays one IEEE float32 operation.
//
// Backward, per element, as the composite gradient computes it (PyTorch 1.13's 50/50 tie split):
//   hu = 0.5 * [x == u], hl = 0.5 * [x == l]
//   dx = dy * ([l < x < u] + (hu + hl))
//   r  = dy * (fl(out - c) / fl(u - l))
//   tu = dy * ([x > u] + hu) + r,  tl = dy * ([x < l] + hl) - r
// du (dl) is the sum of tu (tl) over each sample (a per-sample bound) or over the whole tensor (a
// single bound), added in element order into a double and rounded once: tfjs's Sum, so the bound
// gradients are bit for bit the composite's too.
//
// Bounds: one value, or one per sample (x is then [S, P] in row-major order, P elements a sample).
//
// One thread, on purpose: both passes are memory-bound (the forward takes ~0.3 ms for 16x24x24x64
// floats), and the backward is bound by the latency of its sequential double sums, which no thread
// can share. A second thread would save a fraction of a millisecond on an idle machine and, on a
// busy one, a parallel region waits for whichever of its threads the scheduler parked (milliseconds).
// The backward works through blocks that stay in L1: the vectorised element pass writes a block of
// terms, then the two sums add them (their chains overlap; each is as long as tfjs's).
#include <cmath>
#include <cstdint>
#include <vector>

#include "buffers.h"
#include "js_math.h"
#include "kernels.h"

namespace ddtb {
namespace {

/** The grid of one sample's bounds, computed as the composite does. */
struct Grid {
  float u, l;
  float range;  // fl(u - l)
  float scale;  // fl(fl(1 / range) * n)
  float zero;   // fl(nearbyint(fl(scale * l)) + 2^(k-1))
};

/** Grids of the S samples; a single bound repeats. */
std::vector<Grid> MakeGrids(const F32View& upper, const F32View& lower, int64_t samples, int bits) {
  const float levels = static_cast<float>((1 << bits) - 1);
  const float half = static_cast<float>(1 << (bits - 1));
  std::vector<Grid> g(static_cast<size_t>(samples));
  for (int64_t s = 0; s < samples; ++s) {
    Grid& e = g[static_cast<size_t>(s)];
    e.u = upper.data[upper.length == 1 ? 0 : s];
    e.l = lower.data[lower.length == 1 ? 0 : s];
    e.range = e.u - e.l;
    const float inv = 1.0f / e.range;
    e.scale = inv * levels;
    const float sl = e.scale * e.l;
    e.zero = std::nearbyint(sl) + half;
  }
  return g;
}

/** out of one run of n elements inside one sample. */
DDTB_VECTOR_CLONES void ForwardRun(const float* __restrict__ x, float* __restrict__ y, int64_t n, Grid g) {
  const float u = g.u, l = g.l, s = g.scale, z = g.zero;
  for (int64_t i = 0; i < n; ++i) {
    const float c = JsMax(JsMin(x[i], u), l);
    const float sc = s * c;
    const float q = std::nearbyint(sc - z);
    const float qz = q + z;
    y[i] = qz / s;
  }
}

/** dx, and the per-element bound terms tu, tl, of one run of n elements inside one sample. */
DDTB_VECTOR_CLONES void BackwardRun(const float* __restrict__ dy, const float* __restrict__ x,
                                    const float* __restrict__ out, float* __restrict__ dx, float* __restrict__ tu,
                                    float* __restrict__ tl, int64_t n, Grid g) {
  const float u = g.u, l = g.l, range = g.range;
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i], gi = dy[i];
    const float c = JsMax(JsMin(xi, u), l);
    const float hu = Indicator(xi == u) * 0.5f;
    const float hl = Indicator(xi == l) * 0.5f;
    const float inside = Indicator(__builtin_isgreater(xi, l) & __builtin_isless(xi, u));
    dx[i] = gi * (inside + (hu + hl));
    const float r = gi * ((out[i] - c) / range);
    const float above = Indicator(__builtin_isgreater(xi, u)) + hu;
    const float below = Indicator(__builtin_isless(xi, l)) + hl;
    tu[i] = gi * above + r;
    tl[i] = gi * below - r;
  }
}

/**
 * Adds a[0 .. n) into *sa and b[0 .. n) into *sb, each in element order (tfjs's Sum adds each
 * element into a double). The two chains are independent, so their additions overlap.
 */
inline void AddInOrder(const float* a, const float* b, int64_t n, double* sa, double* sb) {
  double x = *sa, y = *sb;
  for (int64_t i = 0; i < n; ++i) {
    x += a[i];
    y += b[i];
  }
  *sa = x;
  *sb = y;
}

/** Elements per block of the backward: two blocks of terms (8 KB) stay in L1. */
constexpr int64_t kBlock = 1024;

/**
 * The backward: one pass over the samples in order, block by block, each bound's sum one chain in
 * element order (a single bound's over the whole tensor, a per-sample bound's over its sample).
 */
void Backward(const float* dy, const float* x, const float* out, float* dx, int64_t samples, int64_t per,
            const std::vector<Grid>& grids, float* du, bool du_single, float* dl, bool dl_single) {
  float tu[kBlock], tl[kBlock];
  double all_u = 0.0, all_l = 0.0;
  for (int64_t s = 0; s < samples; ++s) {
    double su = 0.0, sl = 0.0;
    const Grid& g = grids[static_cast<size_t>(s)];
    for (int64_t off = s * per, end = (s + 1) * per; off < end; off += kBlock) {
      const int64_t len = end - off < kBlock ? end - off : kBlock;
      BackwardRun(dy + off, x + off, out + off, dx + off, tu, tl, len, g);
      AddInOrder(tu, tl, len, du_single ? &all_u : &su, dl_single ? &all_l : &sl);
    }
    if (!du_single) du[s] = static_cast<float>(su);
    if (!dl_single) dl[s] = static_cast<float>(sl);
  }
  if (du_single) du[0] = static_cast<float>(all_u);
  if (dl_single) dl[0] = static_cast<float>(all_l);
}

/** Checks the bounds' lengths (1 or S), the sample count and the bit width; returns P. */
int64_t CheckArgs(Napi::Env env, size_t n, int64_t samples, const F32View& upper, const F32View& lower, int bits,
                  const char* what) {
  if (samples < 1 || static_cast<int64_t>(n) % samples != 0) {
    throw Napi::RangeError::New(env, std::string(what) + ": the length is not a multiple of the sample count");
  }
  for (const F32View* b : {&upper, &lower}) {
    if (b->length != 1 && static_cast<int64_t>(b->length) != samples) {
      throw Napi::RangeError::New(env, std::string(what) + ": a bound must hold 1 value or one per sample");
    }
  }
  if (bits < 1 || bits > 16) throw Napi::RangeError::New(env, std::string(what) + ": bits must be in [1, 16]");
  return static_cast<int64_t>(n) / samples;
}

/** ddtbFakeQuant(x, samples, upper, lower, bits) -> Float32Array out, the length of x. */
Napi::Value FakeQuant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "ddtbFakeQuant x");
  const int64_t samples = static_cast<int64_t>(ArgNumber(info, 1, "ddtbFakeQuant samples"));
  F32View upper = ArgF32(info, 2, "ddtbFakeQuant upper");
  F32View lower = ArgF32(info, 3, "ddtbFakeQuant lower");
  const int bits = static_cast<int>(ArgNumber(info, 4, "ddtbFakeQuant bits"));
  const int64_t per = CheckArgs(env, x.length, samples, upper, lower, bits, "ddtbFakeQuant");
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, x.length, &y);
  if (x.length == 0) return out;
  const std::vector<Grid> grids = MakeGrids(upper, lower, samples, bits);
  for (int64_t smp = 0; smp < samples; ++smp) {
    ForwardRun(x.data + smp * per, y + smp * per, per, grids[static_cast<size_t>(smp)]);
  }
  return out;
}

/**
 * ddtbFakeQuantGrad(dy, x, out, samples, upper, lower, bits) -> [dx, du, dl]: Float32Arrays of the
 * lengths of x, upper and lower. `out` is the forward's output.
 */
Napi::Value FakeQuantGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View dy = ArgF32(info, 0, "ddtbFakeQuantGrad dy");
  F32View x = ArgF32(info, 1, "ddtbFakeQuantGrad x");
  F32View fwd = ArgF32(info, 2, "ddtbFakeQuantGrad out");
  const int64_t samples = static_cast<int64_t>(ArgNumber(info, 3, "ddtbFakeQuantGrad samples"));
  F32View upper = ArgF32(info, 4, "ddtbFakeQuantGrad upper");
  F32View lower = ArgF32(info, 5, "ddtbFakeQuantGrad lower");
  const int bits = static_cast<int>(ArgNumber(info, 6, "ddtbFakeQuantGrad bits"));
  if (dy.length != x.length || fwd.length != x.length) {
    throw Napi::RangeError::New(env, "ddtbFakeQuantGrad: dy, x and out differ in length");
  }
  const int64_t per = CheckArgs(env, x.length, samples, upper, lower, bits, "ddtbFakeQuantGrad");
  const int64_t n = static_cast<int64_t>(x.length);
  float *dxp = nullptr, *dup = nullptr, *dlp = nullptr;
  Napi::Float32Array dx = NewF32(env, x.length, &dxp);
  Napi::Float32Array du = NewF32(env, upper.length, &dup);
  Napi::Float32Array dl = NewF32(env, lower.length, &dlp);
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, dx);
  result.Set(1u, du);
  result.Set(2u, dl);
  if (n == 0) {
    for (size_t i = 0; i < upper.length; ++i) dup[i] = 0.0f;
    for (size_t i = 0; i < lower.length; ++i) dlp[i] = 0.0f;
    return result;
  }
  const std::vector<Grid> grids = MakeGrids(upper, lower, samples, bits);
  Backward(dy.data, x.data, fwd.data, dxp, samples, per, grids, dup, upper.length == 1, dlp, lower.length == 1);
  return result;
}

}  // namespace

void RegisterFakeQuant(Napi::Env env, Napi::Object exports) {
  exports.Set("ddtbFakeQuant", Napi::Function::New(env, FakeQuant));
  exports.Set("ddtbFakeQuantGrad", Napi::Function::New(env, FakeQuantGrad));
}

}  // namespace ddtb
