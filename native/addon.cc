// Entry point of the ddtb native addon (build/Release/ddtb_native.node): float32 kernels on oneDNN
// and OpenMP for tfjs's cpu backend. lib/backend/native.ts loads it and registers the kernels.
#include <napi.h>
#include <oneapi/dnnl/dnnl.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <string>

#include "buffer_pool.h"
#include "buffers.h"
#include "kernels.h"

namespace ddtb {
namespace {

/**
 * info() -> { onednn: "2.6.3", threads: n, abi: n, isa: "avx512_core", outputAlign: 64, alignedOutputMin: 4096 }:
 * what the addon was built with, the instruction set oneDNN runs here (which decides the default conv
 * layout, conv.cc), and how outputs are aligned (buffers.h: outputs of alignedOutputMin bytes or more
 * sit outputAlign bytes into an ArrayBuffer outputAlign bytes longer, at an aligned address).
 */
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
#ifdef _OPENMP
  o.Set("threads", omp_get_max_threads());
#else
  o.Set("threads", 1);
#endif
  // bump when a kernel's calling convention changes, so lib/backend refuses a stale build
  o.Set("abi", 11);
  o.Set("isa", ConvIsa());
  o.Set("outputAlign", static_cast<double>(kOutputAlign));
  o.Set("alignedOutputMin", static_cast<double>(kAlignedOutputMin));
  return o;
}

/** dataAlignment(view) -> the address of the view's first byte modulo kOutputAlign (64; diagnostics and tests). */
Napi::Value DataAlignment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "dataAlignment: expected a typed array");
  Napi::TypedArray a = info[0].As<Napi::TypedArray>();
  const uintptr_t address = reinterpret_cast<uintptr_t>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return Napi::Number::New(env, static_cast<double>(address % kOutputAlign));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("dataAlignment", Napi::Function::New(env, DataAlignment));
  RegisterBufferPool(env, exports);
  RegisterConv(env, exports);
  RegisterElementwise(env, exports);
  RegisterReduce(env, exports);
  RegisterTranspose(env, exports);
  RegisterSlice(env, exports);
  RegisterFakeQuant(env, exports);
  RegisterPamsQuant(env, exports);
  RegisterPrelu(env, exports);
  RegisterBatchNorm(env, exports);
  return exports;
}

}  // namespace
}  // namespace ddtb

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ddtb::Init(env, exports); }

NODE_API_MODULE(ddtb_native, InitAddon)
