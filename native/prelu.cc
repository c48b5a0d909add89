// PReLU with one shared slope w (SRResNet), forward and backward in one pass each, with the float32
// operations of the composite (lib/nn/prelu.ts):
//
//   y  = x < 0 ? w * x : x                      (tfjs's Prelu kernel)
//   dx = x > 0 ? dy : dy * w                    (tfjs's and PyTorch's PReLU gradient)
//   dw = the sum of (x > 0 ? 0 : dy * x) over all elements, in element order, in double (tfjs's Sum)
//
// The element passes are split across the OpenMP threads; the dw sum runs on one thread in element
// order, block by block, so it is bit for bit tfjs's.
#include <cstdint>

#include "buffers.h"
#include "js_math.h"
#include "kernels.h"

namespace ddtb {
namespace {

constexpr int64_t kBlock = 4096;

DDTB_VECTOR_CLONES void ForwardRun(const float* __restrict__ x, float* __restrict__ y, int64_t n, float w) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v < 0.0f ? w * v : v;
  }
}

DDTB_VECTOR_CLONES void BackwardRun(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ dx,
                                    float* __restrict__ term, int64_t n, float w) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], g = dy[i];
    const bool pos = __builtin_isgreater(v, 0.0f);
    dx[i] = pos ? g : g * w;
    term[i] = pos ? 0.0f : g * v;
  }
}

float ArgSlope(Napi::Env env, const F32View& w, const char* what) {
  if (w.length != 1) throw Napi::RangeError::New(env, std::string(what) + ": the slope must hold one value");
  return w.data[0];
}

/** prelu(x, w) -> Float32Array y, the length of x. */
Napi::Value Prelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "prelu x");
  F32View wv = ArgF32(info, 1, "prelu w");
  const float w = ArgSlope(env, wv, "prelu");
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, x.length, &y);
  const int64_t n = static_cast<int64_t>(x.length);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t off = 0; off < n; off += kBlock) {
    ForwardRun(x.data + off, y + off, n - off < kBlock ? n - off : kBlock, w);
  }
  return out;
}

/** preluGrad(dy, x, w) -> [dx, dw] (lengths of x and 1). */
Napi::Value PreluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View dy = ArgF32(info, 0, "preluGrad dy");
  F32View x = ArgF32(info, 1, "preluGrad x");
  F32View wv = ArgF32(info, 2, "preluGrad w");
  if (dy.length != x.length) throw Napi::RangeError::New(env, "preluGrad: dy and x differ in length");
  const float w = ArgSlope(env, wv, "preluGrad");
  float *dxp = nullptr, *dwp = nullptr;
  Napi::Float32Array dx = NewF32(env, x.length, &dxp);
  Napi::Float32Array dw = NewF32(env, 1, &dwp);
  float term[kBlock];
  double sum = 0.0;
  const int64_t n = static_cast<int64_t>(x.length);
  for (int64_t off = 0; off < n; off += kBlock) {
    const int64_t len = n - off < kBlock ? n - off : kBlock;
    BackwardRun(dy.data + off, x.data + off, dxp + off, term, len, w);
    AddInOrder(term, len, &sum);
  }
  dwp[0] = static_cast<float>(sum);
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, dx);
  result.Set(1u, dw);
  return result;
}

}  // namespace

void RegisterPrelu(Napi::Env env, Napi::Object exports) {
  exports.Set("prelu", Napi::Function::New(env, Prelu));
  exports.Set("preluGrad", Napi::Function::New(env, PreluGrad));
}

}  // namespace ddtb
