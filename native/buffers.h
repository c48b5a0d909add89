// Argument and buffer helpers shared by the kernel families of the ddtb native addon.
//
// Every kernel takes typed arrays and plain number arrays from JavaScript and returns a new typed
// array that tfjs then owns. Outputs are allocated uninitialised (Node's Buffer allocator, freed by
// V8's GC with the typed array), because every kernel writes each output element.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddtb {

/** A float32 view of a JavaScript Float32Array argument. */
struct F32View {
  float* data;
  size_t length;
};

/** Reads argument `index` of a call as a Float32Array; throws a TypeError naming `what` otherwise. */
inline F32View ArgF32(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a Float32Array");
  }
  Napi::Float32Array a = info[index].As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

/** Reads argument `index` as an array of integers (a shape, axes, a permutation or geometry). */
inline std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected an array of integers");
  }
  Napi::Array a = info[index].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value v = a.Get(i);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected integers");
    out[i] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

/** Reads argument `index` as a number. */
inline double ArgNumber(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a number");
  }
  return info[index].As<Napi::Number>().DoubleValue();
}

/** Product of the dimensions (1 for a scalar shape). */
inline int64_t SizeOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

/** Throws a RangeError naming `what` when a typed array's length is not the shape's size. */
inline void CheckLength(Napi::Env env, const F32View& v, const std::vector<int64_t>& shape, const char* what) {
  if (static_cast<int64_t>(v.length) != SizeOf(shape)) {
    throw Napi::RangeError::New(env, std::string(what) + ": length " + std::to_string(v.length) +
                                         " does not match its shape (" + std::to_string(SizeOf(shape)) + ")");
  }
}

/**
 * A new Float32Array of `n` elements with uninitialised contents (the caller writes every element).
 * The memory comes from Node's Buffer allocator (malloc), so it is released when V8 collects the array.
 */
inline Napi::Float32Array NewF32(Napi::Env env, size_t n, float** data) {
  Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::New(env, n * sizeof(float) + (n == 0 ? 1 : 0));
  Napi::Float32Array out = Napi::Float32Array::New(env, n, bytes.ArrayBuffer(), bytes.ByteOffset());
  *data = out.Data();
  return out;
}

/**
 * Compiles a hot loop twice, for AVX2 and for the baseline ISA, picked at load time (GCC ifunc).
 * Only the vector width changes: -ffp-contract=off still forbids FMA contraction, so results are
 * the same bits either way.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DDTB_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DDTB_VECTOR_CLONES
#endif

/** Elements at or above which the element-wise and reduction loops use OpenMP threads. */
constexpr int64_t kParallelMin = 1 << 15;

}  // namespace ddtb
