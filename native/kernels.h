// The kernel families of the ddtb native addon; each adds its functions to the module's exports.
#pragma once

#include <napi.h>

#include <cstdint>

namespace ddtb {

void RegisterConv(Napi::Env env, Napi::Object exports);         // conv.cc
void RegisterElementwise(Napi::Env env, Napi::Object exports);  // elementwise.cc
void RegisterReduce(Napi::Env env, Napi::Object exports);       // reduce.cc
void RegisterTranspose(Napi::Env env, Napi::Object exports);    // transpose.cc
void RegisterSlice(Napi::Env env, Napi::Object exports);        // slice.cc
void RegisterFakeQuant(Napi::Env env, Napi::Object exports);    // fake_quant.cc
void RegisterPamsQuant(Napi::Env env, Napi::Object exports);    // pams_quant.cc
void RegisterPrelu(Napi::Env env, Napi::Object exports);        // prelu.cc
void RegisterBatchNorm(Napi::Env env, Napi::Object exports);    // batchnorm.cc

/** y[k] = sum over r of x[r * cols + k], in row order into a double: tfjs's Sum over the leading axes (reduce.cc). */
void ColumnSumsInOrder(const float* x, int64_t rows, int64_t cols, float* y);

/** The instruction set oneDNN runs on this machine, as a name ("avx512_core", "avx2", ...; conv.cc). */
const char* ConvIsa();

}  // namespace ddtb
