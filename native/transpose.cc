// Transpose (axis permutation) of 4-byte tensors (float32, int32), the data movement of the pixel
// shuffle (a 6-D permutation between two free reshapes) and of its gradient.
//
// Size-1 axes are dropped and input axes that stay neighbours in the output are merged, so a pixel
// shuffle [N,H,W,C,r,r] -> [N,H,r,W,r,C] becomes a 5-D copy whose rows gather C values at a step of r*r.
// When the output's and the input's contiguous axes differ, each block between them is copied as a
// tiled 2-D transpose. A pure copy: bit for bit tfjs's result.
#include <cstdint>
#include <cstring>
#include <vector>

#include "buffers.h"
#include "kernels.h"

namespace ddtb {
namespace {

void Permute(const uint32_t* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, uint32_t* y) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  // keep the axes of size > 1, renumbered
  std::vector<int64_t> new_index(rank, -1), dims;
  for (int64_t k = 0; k < rank; ++k) {
    if (shape[k] != 1) {
      new_index[k] = static_cast<int64_t>(dims.size());
      dims.push_back(shape[k]);
    }
  }
  std::vector<int64_t> p;
  for (int64_t j = 0; j < rank; ++j) {
    if (new_index[perm[j]] >= 0) p.push_back(new_index[perm[j]]);
  }
  // merge input axes i, i+1 that appear as neighbours i, i+1 in the output order
  std::vector<int64_t> group_of(dims.size(), -1), gdims;
  for (size_t j = 0; j < p.size(); ++j) {
    if (j > 0 && p[j] == p[j - 1] + 1) {
      gdims[group_of[p[j - 1]]] *= dims[p[j]];
      group_of[p[j]] = group_of[p[j - 1]];
    } else {
      group_of[p[j]] = static_cast<int64_t>(gdims.size());
      gdims.push_back(dims[p[j]]);
    }
  }
  // groups in input order give the collapsed input shape
  const int64_t g = static_cast<int64_t>(gdims.size());
  std::vector<int64_t> order;  // group ids sorted by their first input axis
  for (size_t k = 0; k < dims.size(); ++k) {
    if (k == 0 || group_of[k] != group_of[k - 1]) order.push_back(group_of[k]);
  }
  std::vector<int64_t> in_stride(g);
  int64_t s = 1;
  for (int64_t k = g; k-- > 0;) {
    in_stride[order[k]] = s;
    s *= gdims[order[k]];
  }
  const int64_t total = s;
  if (g <= 1) {
    std::memcpy(y, x, static_cast<size_t>(total) * sizeof(uint32_t));
    return;
  }
  // output groups are 0..g-1 in output order
  std::vector<int64_t> out_stride(g);
  s = 1;
  for (int64_t k = g; k-- > 0;) {
    out_stride[k] = s;
    s *= gdims[k];
  }
  const int64_t a_dim = g - 1;       // the output's contiguous group
  const int64_t b_dim = order.back();  // the input's contiguous group
  if (a_dim == b_dim) {
    // rows that are contiguous on both sides
    const int64_t inner = gdims[g - 1], rows = total / inner;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0, rem = r;
      for (int64_t k = g - 1; k-- > 0;) {
        off += (rem % gdims[k]) * in_stride[k];
        rem /= gdims[k];
      }
      std::memcpy(y + r * inner, x + off, static_cast<size_t>(inner) * sizeof(uint32_t));
    }
    return;
  }
  // Otherwise each combination of the other groups is a 2-D transpose of a [B][A] block (A contiguous
  // in the output, B contiguous in the input), done in square tiles so both sides stay in cache.
  std::vector<int64_t> od, ois, oos;  // other groups: sizes, input and output strides, output order
  for (int64_t k = 0; k < g; ++k) {
    if (k == a_dim || k == b_dim) continue;
    od.push_back(gdims[k]);
    ois.push_back(in_stride[k]);
    oos.push_back(out_stride[k]);
  }
  const int64_t na = gdims[a_dim], nb = gdims[b_dim];
  const int64_t a_in = in_stride[a_dim], b_out = out_stride[b_dim];
  constexpr int64_t kTile = 32;
  const int64_t b_tiles = (nb + kTile - 1) / kTile;
  const int64_t combos = total / (na * nb);
  const int64_t items = combos * b_tiles;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t item = 0; item < items; ++item) {
    int64_t rem = item / b_tiles, in_off = 0, out_off = 0;
    const int64_t b0 = (item % b_tiles) * kTile, b1 = b0 + kTile < nb ? b0 + kTile : nb;
    for (int64_t k = static_cast<int64_t>(od.size()); k-- > 0;) {
      const int64_t i = rem % od[k];
      rem /= od[k];
      in_off += i * ois[k];
      out_off += i * oos[k];
    }
    const uint32_t* src = x + in_off;
    uint32_t* dst = y + out_off;
    for (int64_t a0 = 0; a0 < na; a0 += kTile) {
      const int64_t a1 = a0 + kTile < na ? a0 + kTile : na;
      for (int64_t b = b0; b < b1; ++b) {
        for (int64_t a = a0; a < a1; ++a) dst[a + b * b_out] = src[a * a_in + b];
      }
    }
  }
}

/** transpose(x, shape, perm) -> a typed array of x's type (Float32Array or Int32Array), permuted. */
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "transpose x: expected a typed array");
  Napi::TypedArray xa = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type type = xa.TypedArrayType();
  if (type != napi_float32_array && type != napi_int32_array) {
    throw Napi::TypeError::New(env, "transpose x: expected a Float32Array or an Int32Array");
  }
  std::vector<int64_t> shape = ArgInts(info, 1, "transpose shape");
  std::vector<int64_t> perm = ArgInts(info, 2, "transpose perm");
  const int64_t n = SizeOf(shape);
  if (static_cast<int64_t>(xa.ElementLength()) != n || perm.size() != shape.size()) {
    throw Napi::RangeError::New(env, "transpose: length, shape and perm do not agree");
  }
  std::vector<bool> seen(shape.size(), false);
  for (int64_t a : perm) {
    if (a < 0 || a >= static_cast<int64_t>(shape.size()) || seen[a]) {
      throw Napi::RangeError::New(env, "transpose: perm is not a permutation");
    }
    seen[a] = true;
  }
  const uint32_t* x = reinterpret_cast<const uint32_t*>(
      static_cast<const uint8_t*>(xa.ArrayBuffer().Data()) + xa.ByteOffset());
  uint8_t* out_data = nullptr;
  Napi::Value out = NewTyped4(env, type, static_cast<size_t>(n), &out_data);
  if (n > 0) Permute(x, shape, perm, reinterpret_cast<uint32_t*>(out_data));
  return out;
}

}  // namespace

void RegisterTranspose(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose));
}

}  // namespace ddtb
