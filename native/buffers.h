// Argument and buffer helpers shared by the kernel families of the ddtb native addon.
//
// Every kernel takes typed arrays and plain number arrays from JavaScript and returns a new typed
// array that tfjs then owns. Outputs are allocated uninitialised (Node's Buffer allocator, freed by
// V8's GC with the typed array), because every kernel writes each output element.
#pragma once

#include <napi.h>

#include "buffer_pool.h"

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

/** Byte alignment of the data of outputs of at least kAlignedOutputMin bytes. */
constexpr size_t kOutputAlign = 64;
constexpr size_t kAlignedOutputMin = 4096;

/** An output's memory: its ArrayBuffer and the byte offset of its data in it. */
struct OutputBuffer {
  Napi::ArrayBuffer buffer;
  size_t offset;
};

/**
 * Memory for an output of `bytes` bytes (at least 1) with uninitialised contents, for a caller that
 * writes it in full: a released buffer of that length from the pool (buffer_pool.h), else fresh memory
 * from Node's Buffer allocator (malloc), released when V8 collects it or lib/backend releases it.
 *
 * Outputs of kAlignedOutputMin bytes or more get an ArrayBuffer kOutputAlign bytes longer and their
 * data starts at the first 64-byte boundary in it: malloc aligns to 16 bytes, and the AVX-512 kernels
 * that read these arrays next (oneDNN's and ours) load 64-byte vectors, each of which then splits a
 * cache line. On a Sapphire Rapids Xeon, 2 threads, the filter gradient of 16x96x96x64 -> 256 took
 * 179 ms from 16-byte aligned arrays against 149 ms aligned, and 16x48x48x64 -> 64 10.3 against 8.9.
 * lib/backend/buffer_release.ts knows the padding (OUTPUT_PAD).
 */
inline OutputBuffer NewOutputBuffer(Napi::Env env, size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t total = bytes >= kAlignedOutputMin ? bytes + kOutputAlign : bytes;
  Napi::ArrayBuffer ab = TakePooledBuffer(env, total);
  if (ab.IsEmpty()) {
    Napi::Buffer<uint8_t> fresh = Napi::Buffer<uint8_t>::New(env, total);
    ab = fresh.ArrayBuffer();
    // not a whole buffer of its own (never seen with Node's allocator): a plain ArrayBuffer then
    if (fresh.ByteOffset() != 0 || ab.ByteLength() != total) ab = Napi::ArrayBuffer::New(env, total);
  }
  const size_t misalign = reinterpret_cast<uintptr_t>(ab.Data()) % kOutputAlign;
  const size_t offset = total == bytes || misalign == 0 ? 0 : kOutputAlign - misalign;
  return {ab, offset};
}

/** A new Float32Array of `n` elements with uninitialised contents (the caller writes every element). */
inline Napi::Float32Array NewF32(Napi::Env env, size_t n, float** data) {
  OutputBuffer o = NewOutputBuffer(env, n * sizeof(float));
  Napi::Float32Array out = Napi::Float32Array::New(env, n, o.buffer, o.offset);
  *data = out.Data();
  return out;
}

/** A new Float32Array or Int32Array (`type`) of `n` 4-byte elements, uninitialised; `data` its first byte. */
inline Napi::Value NewTyped4(Napi::Env env, napi_typedarray_type type, size_t n, uint8_t** data) {
  OutputBuffer o = NewOutputBuffer(env, n * 4);
  *data = static_cast<uint8_t*>(o.buffer.Data()) + o.offset;
  return type == napi_float32_array ? Napi::Value(Napi::Float32Array::New(env, n, o.buffer, o.offset))
                                    : Napi::Value(Napi::Int32Array::New(env, n, o.buffer, o.offset));
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
