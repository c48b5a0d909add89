// Entry point of the ddtb native addon (build/Release/ddtb_native.node): float32 kernels on oneDNN
// and OpenMP for tfjs's cpu backend. lib/backend/native.ts loads it and registers the kernels.
#include <napi.h>
#include <oneapi/dnnl/dnnl.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <string>

#include "buffer_pool.h"
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
  o.Set("abi", 10);
  o.Set("isa", ConvIsa());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
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
