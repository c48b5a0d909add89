// NumPy/tfjs broadcasting of two operands onto one output, reduced to the fewest loop dimensions.
//
// Shapes align on the right; a dimension of 1 repeats. Adjacent output dimensions merge when both
// operands step through them contiguously (or both repeat them), so most real cases end up as
// rows x inner with per-operand inner steps of 0 or 1.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddtb {

struct BroadcastPlan {
  std::vector<int64_t> dims;    // collapsed output dimensions, outermost first (at least one)
  std::vector<int64_t> sa, sb;  // element steps of a and b along each collapsed dimension
  int64_t inner = 1;            // dims.back()
  int64_t rows = 1;             // product of the other dims

  /** Offsets of a and b at the start of row `r` (row-major over dims[0 .. n-2]). */
  void RowOffsets(int64_t r, int64_t* oa, int64_t* ob) const {
    int64_t a = 0, b = 0;
    for (int64_t k = static_cast<int64_t>(dims.size()) - 2; k >= 0 && r > 0; --k) {
      const int64_t i = r % dims[k];
      r /= dims[k];
      a += i * sa[k];
      b += i * sb[k];
    }
    *oa = a;
    *ob = b;
  }
};

/** Broadcasts shapes `a` and `b`; throws a RangeError naming `what` when they are incompatible. */
inline BroadcastPlan PlanBroadcast(Napi::Env env, const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                   std::vector<int64_t>* out_shape, const char* what) {
  const size_t rank = a.size() > b.size() ? a.size() : b.size();
  std::vector<int64_t> pa(rank, 1), pb(rank, 1), out(rank, 1);
  for (size_t i = 0; i < a.size(); ++i) pa[rank - a.size() + i] = a[i];
  for (size_t i = 0; i < b.size(); ++i) pb[rank - b.size() + i] = b[i];
  for (size_t i = 0; i < rank; ++i) {
    if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1) {
      throw Napi::RangeError::New(env, std::string(what) + ": shapes cannot be broadcast together");
    }
    out[i] = pa[i] == 1 ? pb[i] : pa[i];
  }
  *out_shape = out;
  // contiguous steps, 0 where the operand repeats
  std::vector<int64_t> sa(rank), sb(rank);
  int64_t ca = 1, cb = 1;
  for (size_t k = rank; k-- > 0;) {
    sa[k] = pa[k] == 1 ? 0 : ca;
    sb[k] = pb[k] == 1 ? 0 : cb;
    ca *= pa[k];
    cb *= pb[k];
  }
  BroadcastPlan p;
  // drop size-1 output dims, then merge from the inside out
  for (size_t k = 0; k < rank; ++k) {
    if (out[k] == 1) continue;
    p.dims.push_back(out[k]);
    p.sa.push_back(sa[k]);
    p.sb.push_back(sb[k]);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.sa = {0};
    p.sb = {0};
  }
  std::vector<int64_t> d, xa, xb;
  for (size_t k = 0; k < p.dims.size(); ++k) {
    if (!d.empty() && xa.back() == p.sa[k] * p.dims[k] && xb.back() == p.sb[k] * p.dims[k]) {
      d.back() *= p.dims[k];
      xa.back() = p.sa[k];
      xb.back() = p.sb[k];
    } else {
      d.push_back(p.dims[k]);
      xa.push_back(p.sa[k]);
      xb.push_back(p.sb[k]);
    }
  }
  p.dims = d;
  p.sa = xa;
  p.sb = xb;
  p.inner = p.dims.back();
  p.rows = 1;
  for (size_t k = 0; k + 1 < p.dims.size(); ++k) p.rows *= p.dims[k];
  return p;
}

}  // namespace ddtb
