// Element-wise float32 kernels: broadcast binary arithmetic (Add, Sub, Multiply, RealDiv) and the
// unary kernels of the ReLU path (Relu, Step) plus Abs and Neg.
//
// Each result is one IEEE float32 operation on float32 inputs, which is bit for bit what tfjs's JS
// kernels produce (they compute in double and round once; for + - * / that double rounding is
// exact). The build uses -ffp-contract=off and no fast-math so the compiler keeps it that way.
#include <cmath>
#include <cstdint>
#include <vector>

#include "broadcast.h"
#include "buffers.h"
#include "kernels.h"

namespace ddtb {
namespace {

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

struct Add {
  static float Apply(float a, float b) { return a + b; }
};
struct Sub {
  static float Apply(float a, float b) { return a - b; }
};
struct Mul {
  static float Apply(float a, float b) { return a * b; }
};
struct Div {
  static float Apply(float a, float b) { return a / b; }
};

/** One output row of `n` elements; steps of a and b are 0 (repeat) or 1 (contiguous). */
template <typename Op>
inline void Row(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < n; ++j) y[j] = Op::Apply(a[j], b[j]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t j = 0; j < n; ++j) y[j] = Op::Apply(a[j], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t j = 0; j < n; ++j) y[j] = Op::Apply(av, b[j]);
  } else {
    const float v = Op::Apply(a[0], b[0]);
    for (int64_t j = 0; j < n; ++j) y[j] = v;
  }
}

template <typename Op>
void RunBinary(const BroadcastPlan& p, const float* a, const float* b, float* y) {
  const int64_t inner = p.inner, rows = p.rows;
  const int64_t sa = p.sa.back(), sb = p.sb.back();
  if (rows == 1) {
    // one long row: split it across threads
#pragma omp parallel for schedule(static) if (inner >= kParallelMin)
    for (int64_t c = 0; c < inner; c += 4096) {
      const int64_t n = inner - c < 4096 ? inner - c : 4096;
      Row<Op>(a + c * sa, sa, b + c * sb, sb, y + c, n);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (rows * inner >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t oa, ob;
    p.RowOffsets(r, &oa, &ob);
    Row<Op>(a + oa, sa, b + ob, sb, y + r * inner, inner);
  }
}

/** binary(op, a, aShape, b, bShape) -> Float32Array of the broadcast shape (op: 0 add, 1 sub, 2 mul, 3 div). */
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = static_cast<int>(ArgNumber(info, 0, "binary op"));
  F32View a = ArgF32(info, 1, "binary a");
  std::vector<int64_t> as = ArgInts(info, 2, "binary a shape");
  F32View b = ArgF32(info, 3, "binary b");
  std::vector<int64_t> bs = ArgInts(info, 4, "binary b shape");
  CheckLength(env, a, as, "binary a");
  CheckLength(env, b, bs, "binary b");
  std::vector<int64_t> ys;
  BroadcastPlan p = PlanBroadcast(env, as, bs, &ys, "binary");
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, static_cast<size_t>(SizeOf(ys)), &y);
  if (SizeOf(ys) == 0) return out;
  switch (op) {
    case kAdd: RunBinary<Add>(p, a.data, b.data, y); break;
    case kSub: RunBinary<Sub>(p, a.data, b.data, y); break;
    case kMul: RunBinary<Mul>(p, a.data, b.data, y); break;
    case kDiv: RunBinary<Div>(p, a.data, b.data, y); break;
    default: throw Napi::RangeError::New(env, "binary: unknown op " + std::to_string(op));
  }
  return out;
}

enum UnaryOp { kRelu = 0, kStep = 1, kAbs = 2, kNeg = 3 };

// Written as selects on whole vectors so the compiler if-converts them: a data-dependent branch per
// element costs more than the memory traffic when signs are random.
void Relu(const float* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float r = v > 0.0f ? v : 0.0f;
    y[i] = v != v ? v : r;
  }
}

void Step(const float* x, float* y, int64_t n, float alpha) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float r = v > 0.0f ? 1.0f : alpha;
    y[i] = v != v ? v : r;
  }
}

void Abs(const float* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = std::fabs(x[i]);
}

void Neg(const float* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * -1.0f;
}

/**
 * unary(op, x, alpha) -> Float32Array (op: 0 relu, 1 step, 2 abs, 3 neg).
 * relu: NaN stays NaN, otherwise max(0, x) with +0 for x <= 0 (as Math.max(0, x)).
 * step: NaN stays NaN, 1 where x > 0, else alpha (rounded to float32, as tfjs stores it).
 */
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = static_cast<int>(ArgNumber(info, 0, "unary op"));
  F32View x = ArgF32(info, 1, "unary x");
  const float alpha = static_cast<float>(ArgNumber(info, 2, "unary alpha"));
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, x.length, &y);
  const int64_t n = static_cast<int64_t>(x.length);
  switch (op) {
    case kRelu: Relu(x.data, y, n); break;
    case kStep: Step(x.data, y, n, alpha); break;
    case kAbs: Abs(x.data, y, n); break;
    case kNeg: Neg(x.data, y, n); break;
    default: throw Napi::RangeError::New(env, "unary: unknown op " + std::to_string(op));
  }
  return out;
}

}  // namespace

void RegisterElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
}

}  // namespace ddtb
