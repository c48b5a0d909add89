// Slice of 4-byte tensors (float32, int32) where the slice is not one contiguous run (those tfjs
// serves as a zero-copy view): the gradient of Concat (dense blocks), channel splits, per-sample picks.
// Rows that are contiguous in both input and output are copied with memcpy. A pure copy.
#include <cstdint>
#include <cstring>
#include <vector>

#include "buffers.h"
#include "kernels.h"

namespace ddtb {
namespace {

/** slice(x, shape, begin, size) -> a typed array of x's type holding x[begin : begin + size]. */
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "slice x: expected a typed array");
  Napi::TypedArray xa = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type type = xa.TypedArrayType();
  if (type != napi_float32_array && type != napi_int32_array) {
    throw Napi::TypeError::New(env, "slice x: expected a Float32Array or an Int32Array");
  }
  std::vector<int64_t> shape = ArgInts(info, 1, "slice shape");
  std::vector<int64_t> begin = ArgInts(info, 2, "slice begin");
  std::vector<int64_t> size = ArgInts(info, 3, "slice size");
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (static_cast<int64_t>(xa.ElementLength()) != SizeOf(shape) || static_cast<int64_t>(begin.size()) != rank ||
      static_cast<int64_t>(size.size()) != rank) {
    throw Napi::RangeError::New(env, "slice: length, shape, begin and size do not agree");
  }
  for (int64_t k = 0; k < rank; ++k) {
    if (begin[k] < 0 || size[k] < 0 || begin[k] + size[k] > shape[k]) {
      throw Napi::RangeError::New(env, "slice: begin/size out of range on axis " + std::to_string(k));
    }
  }
  const int64_t n = SizeOf(size);
  uint8_t* out_data = nullptr;
  Napi::Value out = NewTyped4(env, type, static_cast<size_t>(n), &out_data);
  if (n == 0) return out;
  const uint32_t* x = reinterpret_cast<const uint32_t*>(
      static_cast<const uint8_t*>(xa.ArrayBuffer().Data()) + xa.ByteOffset());
  uint32_t* y = reinterpret_cast<uint32_t*>(out_data);
  std::vector<int64_t> stride(rank);
  int64_t s = 1;
  for (int64_t k = rank; k-- > 0;) {
    stride[k] = s;
    s *= shape[k];
  }
  // a row: the innermost axes taken whole, plus the next one as far as the slice goes
  int64_t split = rank - 1;
  while (split > 0 && size[split] == shape[split]) --split;
  int64_t row = 1;
  for (int64_t k = split; k < rank; ++k) row *= size[k];
  int64_t base = 0;
  for (int64_t k = 0; k < rank; ++k) base += begin[k] * stride[k];
  const int64_t rows = n / row;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off = base, rem = r;
    for (int64_t k = split; k-- > 0;) {
      off += (rem % size[k]) * stride[k];
      rem /= size[k];
    }
    std::memcpy(y + r * row, x + off, static_cast<size_t>(row) * sizeof(uint32_t));
  }
  return out;
}

}  // namespace

void RegisterSlice(Napi::Env env, Napi::Object exports) {
  exports.Set("slice", Napi::Function::New(env, Slice));
}

}  // namespace ddtb
