// Entry point of the ddtb native addon (build/Release/ddtb_native.node): float32 kernels on oneDNN
// and OpenMP for tfjs's cpu backend. lib/backend/native.ts loads it and registers the kernels.
#include <napi.h>
#include <oneapi/dnnl/dnnl.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <string>

#include "kernels.h"

namespace ddtb {
namespace {

/**
 * info() -> { onednn: "2.6.3", threads: n, abi: n, isa: "avx512_core" }: what the addon was built
 * with, and the instruction set oneDNN runs here (which decides the default conv layout, conv.cc).
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
  o.Set("abi", 9);
  o.Set("isa", ConvIsa());
  return o;
}

/**
 * release(arrayBuffer) -> boolean: detaches the ArrayBuffer, which frees its memory now
 * instead of at V8's next garbage collection; every view of it then has length 0. false when the
 * buffer cannot be detached. lib/backend/buffer_release.ts decides which buffers are safe to pass.
 */
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "release: expected an ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return Napi::Boolean::New(env, false);
  napi_status status = napi_detach_arraybuffer(env, buffer);
  return Napi::Boolean::New(env, status == napi_ok);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("release", Napi::Function::New(env, Release));
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
