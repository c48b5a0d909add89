// The PAMS fake quantization (lib/quant/pams.ts, spec 5.3) fused into one pass forward and one pass
// backward, with exactly the float32 operations of the composite tfjs formula, in its order:
//
//   c   = clamp ? max(min(x, a), -a) : x     Math.min / Math.max semantics
//   q   = round(fl(fl(c * m) / a))           m = qmax = 2^(k-1) - 1; round as tfjs's Round
//   out = fl(fl(q * a) / m)
//
// Backward (straight-through rounding), per element:
//   in  = clamp ? [-a <= x <= a] : 1          (an exact tie goes to x, as in the PAMS code)
//   dx  = dy * in
//   t   = fl([x > a] - [x < -a]) + fl(in * fl(fl(out - x) / a))    (clamp off: no indicator terms)
//   da  = the sum of fl(dy * t) over all elements, in element order, in double (tfjs's Sum)
//
// Round is nearbyint under the default rounding mode (half to even, as tfjs's Round, which gives +0
// rather than -0 for -0.5, which RoundLikeTfjs copies); the build has
// -ffp-contract=off and no fast-math. One thread, as the DDTB fake quant (fake_quant.cc says why).
#include <cmath>
#include <cstdint>

#include "buffers.h"
#include "js_math.h"
#include "kernels.h"

namespace ddtb {
namespace {

/**
 * tfjs's Round: half to even (nearbyint under the default rounding mode), except that a tie at -0.5
 * gives +0 there (its floor-based rule), where nearbyint gives -0.
 */
inline float RoundLikeTfjs(float t) {
  const float q = std::nearbyint(t);
  return t == -0.5f ? 0.0f : q;
}

DDTB_VECTOR_CLONES void ForwardRun(const float* __restrict__ x, float* __restrict__ y, int64_t n, float a, float m,
                                   bool clamp) {
  const float na = -a;
  if (clamp) {
    for (int64_t i = 0; i < n; ++i) {
      const float c = JsMax(JsMin(x[i], a), na);
      const float q = RoundLikeTfjs((c * m) / a);
      y[i] = (q * a) / m;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float q = RoundLikeTfjs((x[i] * m) / a);
      y[i] = (q * a) / m;
    }
  }
}

DDTB_VECTOR_CLONES void BackwardRun(const float* __restrict__ dy, const float* __restrict__ x,
                                    const float* __restrict__ out, float* __restrict__ dx, float* __restrict__ term,
                                    int64_t n, float a, bool clamp) {
  const float na = -a;
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i], gi = dy[i];
    const float in = clamp ? Indicator(!__builtin_isless(xi, na) & !__builtin_isgreater(xi, a) & (xi == xi)) : 1.0f;
    dx[i] = gi * in;
    const float side = clamp ? Indicator(__builtin_isgreater(xi, a)) - Indicator(__builtin_isless(xi, na)) : 0.0f;
    const float t = side + in * ((out[i] - xi) / a);
    term[i] = gi * t;
  }
}

constexpr int64_t kBlock = 1024;

float ArgAlpha(Napi::Env env, const F32View& alpha, const char* what) {
  if (alpha.length != 1) throw Napi::RangeError::New(env, std::string(what) + ": alpha must hold one value");
  return alpha.data[0];
}

void CheckBits(Napi::Env env, int bits, const char* what) {
  if (bits < 2 || bits > 16) throw Napi::RangeError::New(env, std::string(what) + ": bits must be in [2, 16]");
}

/** pamsFakeQuant(x, alpha, bits, clamp) -> Float32Array out, the length of x. */
Napi::Value PamsFakeQuant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "pamsFakeQuant x");
  F32View alpha = ArgF32(info, 1, "pamsFakeQuant alpha");
  const int bits = static_cast<int>(ArgNumber(info, 2, "pamsFakeQuant bits"));
  const bool clamp = ArgNumber(info, 3, "pamsFakeQuant clamp") != 0;
  const float a = ArgAlpha(env, alpha, "pamsFakeQuant");
  CheckBits(env, bits, "pamsFakeQuant");
  const float m = static_cast<float>((1 << (bits - 1)) - 1);
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, x.length, &y);
  ForwardRun(x.data, y, static_cast<int64_t>(x.length), a, m, clamp);
  return out;
}

/** pamsFakeQuantGrad(dy, x, out, alpha, bits, clamp) -> [dx, dalpha] (lengths of x and 1). */
Napi::Value PamsFakeQuantGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View dy = ArgF32(info, 0, "pamsFakeQuantGrad dy");
  F32View x = ArgF32(info, 1, "pamsFakeQuantGrad x");
  F32View fwd = ArgF32(info, 2, "pamsFakeQuantGrad out");
  F32View alpha = ArgF32(info, 3, "pamsFakeQuantGrad alpha");
  const int bits = static_cast<int>(ArgNumber(info, 4, "pamsFakeQuantGrad bits"));
  const bool clamp = ArgNumber(info, 5, "pamsFakeQuantGrad clamp") != 0;
  if (dy.length != x.length || fwd.length != x.length) {
    throw Napi::RangeError::New(env, "pamsFakeQuantGrad: dy, x and out differ in length");
  }
  const float a = ArgAlpha(env, alpha, "pamsFakeQuantGrad");
  CheckBits(env, bits, "pamsFakeQuantGrad");
  float *dxp = nullptr, *dap = nullptr;
  Napi::Float32Array dx = NewF32(env, x.length, &dxp);
  Napi::Float32Array da = NewF32(env, 1, &dap);
  float term[kBlock];
  double sum = 0.0;
  const int64_t n = static_cast<int64_t>(x.length);
  for (int64_t off = 0; off < n; off += kBlock) {
    const int64_t len = n - off < kBlock ? n - off : kBlock;
    BackwardRun(dy.data + off, x.data + off, fwd.data + off, dxp + off, term, len, a, clamp);
    AddInOrder(term, len, &sum);
  }
  dap[0] = static_cast<float>(sum);
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, dx);
  result.Set(1u, da);
  return result;
}

}  // namespace

void RegisterPamsQuant(Napi::Env env, Napi::Object exports) {
  exports.Set("pamsFakeQuant", Napi::Function::New(env, PamsFakeQuant));
  exports.Set("pamsFakeQuantGrad", Napi::Function::New(env, PamsFakeQuantGrad));
}

}  // namespace ddtb
