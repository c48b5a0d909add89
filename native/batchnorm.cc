// BatchNorm2d over NHWC float32 (lib/nn/batchnorm.ts), three passes with the operations of the
// composite, in its order, so results are bit for bit the composite's:
//
//   stats:  per channel k, over the rows r = 0 .. R-1 in order (R = N*H*W):
//           s = sum x[r,k] in double; mean = float(s / R);
//           v = sum double(fl(d * d)) with d = fl(x[r,k] - mean); varSum = float(v)
//           (PyTorch's contiguous CPU statistics)
//   apply:  y = fmaf(x, a[k], b[k])   (one rounding, as PyTorch's vectorised kernel)
//   grad:   xhat = fl(fl(x - mean) * invstd); sumDy, sumDyXhat = per-channel double sums in row
//           order of dy and fl(dy * xhat), rounded once; scale = fl(gamma * invstd);
//           training: dx = fl(scale * fl(fl(dy - fl(sumDy / R)) - fl(xhat * fl(sumDyXhat / R))))
//           eval:     dx = fl(dy * scale)
//
// The per-channel sums walk the rows in order with one double accumulator per channel (the order of
// tfjs's Sum over axes [0, 1, 2]); one thread, as they are sequential chains.
#include <cmath>
#include <cstdint>
#include <vector>

#include "buffers.h"
#include "kernels.h"

namespace ddtb {
namespace {

int64_t Channels(Napi::Env env, size_t length, double c, const char* what) {
  const int64_t ch = static_cast<int64_t>(c);
  if (ch < 1 || static_cast<int64_t>(length) % ch != 0) {
    throw Napi::RangeError::New(env, std::string(what) + ": the length is not a multiple of the channel count");
  }
  return ch;
}

void CheckPerChannel(Napi::Env env, const F32View& v, int64_t c, const char* what) {
  if (static_cast<int64_t>(v.length) != c) throw Napi::RangeError::New(env, std::string(what) + ": needs one value per channel");
}

/** bnStats(x, channels) -> [mean, varSum]. */
Napi::Value BnStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "bnStats x");
  const int64_t c = Channels(env, x.length, ArgNumber(info, 1, "bnStats channels"), "bnStats");
  const int64_t rows = static_cast<int64_t>(x.length) / c;
  float *mp = nullptr, *vp = nullptr;
  Napi::Float32Array mean = NewF32(env, static_cast<size_t>(c), &mp);
  Napi::Float32Array var_sum = NewF32(env, static_cast<size_t>(c), &vp);
  std::vector<double> s(static_cast<size_t>(c), 0.0), v(static_cast<size_t>(c), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x.data + r * c;
    for (int64_t k = 0; k < c; ++k) s[k] += row[k];
  }
  for (int64_t k = 0; k < c; ++k) mp[k] = static_cast<float>(s[k] / static_cast<double>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x.data + r * c;
    for (int64_t k = 0; k < c; ++k) {
      const float d = row[k] - mp[k];
      const float dd = d * d;
      v[k] += dd;
    }
  }
  for (int64_t k = 0; k < c; ++k) vp[k] = static_cast<float>(v[k]);
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, mean);
  result.Set(1u, var_sum);
  return result;
}

/** bnApply(x, a, b) -> y = fmaf(x, a[k], b[k]) per channel k (channels: the length of a). */
Napi::Value BnApply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "bnApply x");
  F32View a = ArgF32(info, 1, "bnApply a");
  F32View b = ArgF32(info, 2, "bnApply b");
  const int64_t c = Channels(env, x.length, static_cast<double>(a.length), "bnApply");
  CheckPerChannel(env, b, c, "bnApply b");
  const int64_t rows = static_cast<int64_t>(x.length) / c;
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, x.length, &y);
#pragma omp parallel for schedule(static) if (rows * c >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data + r * c;
    float* yr = y + r * c;
    for (int64_t k = 0; k < c; ++k) yr[k] = std::fmaf(xr[k], a.data[k], b.data[k]);
  }
  return out;
}

/** bnGrad(dy, x, mean, invstd, gamma, training) -> [dx, sumDyXhat, sumDy]. */
Napi::Value BnGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View dy = ArgF32(info, 0, "bnGrad dy");
  F32View x = ArgF32(info, 1, "bnGrad x");
  F32View mean = ArgF32(info, 2, "bnGrad mean");
  F32View invstd = ArgF32(info, 3, "bnGrad invstd");
  F32View gamma = ArgF32(info, 4, "bnGrad gamma");
  const bool training = ArgNumber(info, 5, "bnGrad training") != 0;
  if (dy.length != x.length) throw Napi::RangeError::New(env, "bnGrad: dy and x differ in length");
  const int64_t c = Channels(env, x.length, static_cast<double>(mean.length), "bnGrad");
  CheckPerChannel(env, invstd, c, "bnGrad invstd");
  CheckPerChannel(env, gamma, c, "bnGrad gamma");
  const int64_t rows = static_cast<int64_t>(x.length) / c;
  float *dxp = nullptr, *gp = nullptr, *bp = nullptr;
  Napi::Float32Array dx = NewF32(env, x.length, &dxp);
  Napi::Float32Array dgamma = NewF32(env, static_cast<size_t>(c), &gp);
  Napi::Float32Array dbeta = NewF32(env, static_cast<size_t>(c), &bp);
  std::vector<double> sdy(static_cast<size_t>(c), 0.0), sdx(static_cast<size_t>(c), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dy.data + r * c;
    const float* xr = x.data + r * c;
    for (int64_t k = 0; k < c; ++k) {
      const float xhat = (xr[k] - mean.data[k]) * invstd.data[k];
      const float p = g[k] * xhat;
      sdy[k] += g[k];
      sdx[k] += p;
    }
  }
  std::vector<float> scale(static_cast<size_t>(c)), mdy(static_cast<size_t>(c)), mdx(static_cast<size_t>(c));
  const float fr = static_cast<float>(rows);
  for (int64_t k = 0; k < c; ++k) {
    bp[k] = static_cast<float>(sdy[k]);
    gp[k] = static_cast<float>(sdx[k]);
    scale[k] = gamma.data[k] * invstd.data[k];
    mdy[k] = bp[k] / fr;
    mdx[k] = gp[k] / fr;
  }
#pragma omp parallel for schedule(static) if (rows * c >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dy.data + r * c;
    const float* xr = x.data + r * c;
    float* o = dxp + r * c;
    for (int64_t k = 0; k < c; ++k) {
      if (training) {
        const float xhat = (xr[k] - mean.data[k]) * invstd.data[k];
        const float t1 = g[k] - mdy[k];
        const float t2 = xhat * mdx[k];
        o[k] = scale[k] * (t1 - t2);
      } else {
        o[k] = g[k] * scale[k];
      }
    }
  }
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, dx);
  result.Set(1u, dgamma);
  result.Set(2u, dbeta);
  return result;
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("bnStats", Napi::Function::New(env, BnStats));
  exports.Set("bnApply", Napi::Function::New(env, BnApply));
  exports.Set("bnGrad", Napi::Function::New(env, BnGrad));
}

}  // namespace ddtb
