// Float32 helpers with tfjs's JS semantics, shared by the fused kernels (fake_quant.cc, pams_quant.cc).
#pragma once

#include <cstdint>

namespace ddtb {

// The comparisons are the quiet ones (__builtin_isless / isgreater: the same truth values as
// < and >, NaN included, but they raise no FP exception), so the compiler may evaluate both sides
// of each select and vectorize these loops without -fno-trapping-math.

/** Math.min on float32 values (tfjs's Minimum): NaN if either is NaN, -0 below +0. */
inline float JsMin(float a, float b) {
  const float r = (__builtin_isless(a, b) || a != a) ? a : b;
  // equal values: the same bits, except +0 and -0, where the OR of the bits is -0
  const float e = __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, a) | __builtin_bit_cast(uint32_t, b));
  return a == b ? e : r;
}

/** Math.max on float32 values (tfjs's Maximum): NaN if either is NaN, +0 above -0. */
inline float JsMax(float a, float b) {
  const float r = (__builtin_isgreater(a, b) || a != a) ? a : b;
  const float e = __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, a) & __builtin_bit_cast(uint32_t, b));
  return a == b ? e : r;
}

/** 1 where the condition holds, else 0 (tfjs's cast of a bool tensor). */
inline float Indicator(int b) { return static_cast<float>(b); }

/** Sums a[0 .. n) into *sum in element order, in double (tfjs's Sum). */
inline void AddInOrder(const float* a, int64_t n, double* sum) {
  double s = *sum;
  for (int64_t i = 0; i < n; ++i) s += a[i];
  *sum = s;
}

}  // namespace ddtb
