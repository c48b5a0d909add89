// Sum and Mean over any set of axes of a float32 tensor, in the summation order of tfjs's JS kernel.
//
// tfjs moves the reduced axes innermost (keeping their relative order) and adds each output's
// elements one after another into a double, then rounds to float32; Mean first divides every
// element by the count in float32. Here each output's elements are visited in that same order and
// added into a double, so results are bit for bit tfjs's. Parallel work is split across outputs only,
// never within one output's sum.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "buffers.h"
#include "kernels.h"

namespace ddtb {
namespace {

/** Element value as the JS kernel sees it: x, or x / divisor in float32 for Mean. */
struct Load {
  float divisor;  // 0 for Sum
  inline double operator()(float v) const { return divisor == 0.0f ? v : static_cast<double>(v / divisor); }
};

/** Sum over the inner axis: out[k] = sum_r x[k * R + r]. */
void RowSums(const float* x, int64_t k_count, int64_t r_count, Load load, float* y) {
#pragma omp parallel for schedule(static) if (k_count * r_count >= kParallelMin && k_count > 1)
  for (int64_t k = 0; k < k_count; ++k) {
    const float* row = x + k * r_count;
    double s = 0.0;
    for (int64_t r = 0; r < r_count; ++r) s += load(row[r]);
    y[k] = static_cast<float>(s);
  }
}

/** Sum over the outer axis of an [R, K] block: out[k] = sum_r x[r * K + k], for k in [k0, k1). */
DDTB_VECTOR_CLONES void ColumnSums(const float* x, int64_t r_count, int64_t k_count, int64_t k0, int64_t k1, Load load, float* y) {
  const int64_t n = k1 - k0;
  std::vector<double> acc(static_cast<size_t>(n), 0.0);
  double* a = acc.data();
  if (load.divisor == 0.0f) {
    for (int64_t r = 0; r < r_count; ++r) {
      const float* row = x + r * k_count + k0;
      for (int64_t k = 0; k < n; ++k) a[k] += row[k];
    }
  } else {
    const float d = load.divisor;
    for (int64_t r = 0; r < r_count; ++r) {
      const float* row = x + r * k_count + k0;
      for (int64_t k = 0; k < n; ++k) a[k] += static_cast<double>(row[k] / d);
    }
  }
  for (int64_t k = 0; k < n; ++k) y[k0 + k] = static_cast<float>(a[k]);
}

/**
 * [O, R, K]: out[o, k] = sum_r x[o, r, k]. Each worker makes one pass over the rows of its part:
 * whole blocks o when there are enough of them, else a contiguous share of the K columns.
 */
void MiddleSums(const float* x, int64_t o_count, int64_t r_count, int64_t k_count, Load load, float* y) {
  int threads = 1;
#ifdef _OPENMP
  if (o_count * r_count * k_count >= kParallelMin) threads = omp_get_max_threads();
#endif
  int64_t chunks = k_count / 16 < threads ? k_count / 16 : threads;  // at least 16 columns (a cache line) each
  if (chunks < 1) chunks = 1;
  if (o_count >= threads || chunks == 1) {
#pragma omp parallel for schedule(static) if (threads > 1 && o_count > 1)
    for (int64_t o = 0; o < o_count; ++o) {
      ColumnSums(x + o * r_count * k_count, r_count, k_count, 0, k_count, load, y + o * k_count);
    }
    return;
  }
  const int64_t per = ((k_count + chunks - 1) / chunks + 15) / 16 * 16;
  for (int64_t o = 0; o < o_count; ++o) {
    const float* xo = x + o * r_count * k_count;
    float* yo = y + o * k_count;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(chunks))
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t k0 = c * per, k1 = k0 + per < k_count ? k0 + per : k_count;
      if (k0 < k1) ColumnSums(xo, r_count, k_count, k0, k1, load, yo);
    }
  }
}

/** Any pattern: each output walks its reduced elements in row-major order of the reduced axes. */
void GeneralSums(const float* x, const std::vector<int64_t>& dims, const std::vector<bool>& reduced, Load load,
                 float* y) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> stride(rank);
  int64_t s = 1;
  for (int64_t k = rank; k-- > 0;) {
    stride[k] = s;
    s *= dims[k];
  }
  std::vector<int64_t> kd, ks, rd, rs;  // kept / reduced dims and strides
  for (int64_t k = 0; k < rank; ++k) {
    (reduced[k] ? rd : kd).push_back(dims[k]);
    (reduced[k] ? rs : ks).push_back(stride[k]);
  }
  int64_t outs = 1, per = 1;
  for (int64_t d : kd) outs *= d;
  for (int64_t d : rd) per *= d;
#pragma omp parallel for schedule(static) if (outs * per >= kParallelMin && outs > 1)
  for (int64_t o = 0; o < outs; ++o) {
    int64_t base = 0, rem = o;
    for (int64_t k = static_cast<int64_t>(kd.size()); k-- > 0;) {
      base += (rem % kd[k]) * ks[k];
      rem /= kd[k];
    }
    std::vector<int64_t> idx(rd.size(), 0);
    double acc = 0.0;
    int64_t off = base;
    for (int64_t j = 0; j < per; ++j) {
      acc += load(x[off]);
      // odometer over the reduced axes, innermost fastest
      for (int64_t k = static_cast<int64_t>(rd.size()); k-- > 0;) {
        off += rs[k];
        if (++idx[k] < rd[k]) break;
        off -= rs[k] * rd[k];
        idx[k] = 0;
      }
    }
    y[o] = static_cast<float>(acc);
  }
}

/**
 * reduce(x, shape, axes, divisor) -> Float32Array of the kept dims (keepDims is a reshape).
 * divisor 0: Sum; divisor n > 0: Mean, each element divided by n (float32) before summing.
 */
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "reduce x");
  std::vector<int64_t> shape = ArgInts(info, 1, "reduce shape");
  std::vector<int64_t> axes = ArgInts(info, 2, "reduce axes");
  Load load{static_cast<float>(ArgNumber(info, 3, "reduce divisor"))};
  CheckLength(env, x, shape, "reduce x");
  const int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<bool> is_reduced(rank, false);
  for (int64_t a : axes) {
    if (a < 0 || a >= rank) throw Napi::RangeError::New(env, "reduce: axis out of range");
    is_reduced[a] = true;
  }
  int64_t out_n = 1;
  for (int64_t k = 0; k < rank; ++k) {
    if (!is_reduced[k]) out_n *= shape[k];
  }
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, static_cast<size_t>(out_n), &y);
  if (out_n == 0) return out;
  if (x.length == 0) {
    for (int64_t i = 0; i < out_n; ++i) y[i] = 0.0f;
    return out;
  }
  // drop size-1 axes, merge neighbours of the same kind
  std::vector<int64_t> dims;
  std::vector<bool> red;
  for (int64_t k = 0; k < rank; ++k) {
    if (shape[k] == 1) continue;
    if (!dims.empty() && red.back() == is_reduced[k]) {
      dims.back() *= shape[k];
    } else {
      dims.push_back(shape[k]);
      red.push_back(is_reduced[k]);
    }
  }
  if (dims.empty() || (dims.size() == 1 && !red[0])) {
    // nothing is summed: each output is its one element (divided, for Mean)
    for (int64_t i = 0; i < out_n; ++i) y[i] = static_cast<float>(load(x.data[i]));
    return out;
  }
  if (dims.size() == 1) {
    RowSums(x.data, 1, dims[0], load, y);
  } else if (dims.size() == 2 && !red[0]) {
    RowSums(x.data, dims[0], dims[1], load, y);
  } else if (dims.size() == 2) {
    MiddleSums(x.data, 1, dims[0], dims[1], load, y);
  } else if (dims.size() == 3 && !red[0]) {
    MiddleSums(x.data, dims[0], dims[1], dims[2], load, y);
  } else {
    GeneralSums(x.data, dims, red, load, y);
  }
  return out;
}

/** c10::CeilLog2: 1 for x <= 2, else ceil(log2(x)). */
int CeilLog2(int64_t x) {
  if (x <= 2) return 1;
  int bits = 0;
  for (uint64_t v = static_cast<uint64_t>(x - 1); v != 0; v >>= 1) bits++;
  return bits;
}

/** acc[0..c) = acc + row, in float32 (one add per channel: the channels are independent sums). */
inline void AddRow(float* acc, const float* row, int64_t c) {
  for (int64_t k = 0; k < c; ++k) acc[k] = acc[k] + row[k];
}

/**
 * For every channel k of one sample x [pixels, c], the float32 sum of x[p][k] over p in PyTorch
 * 1.13's CPU order (ReduceOps SumKernel.cpp `cascade_sum`, as lib/quant/gate.ts strideSumF32 writes
 * it out): with at least 8 pixels, "elements" are vectors of 8 consecutive pixels (lanes), summed by
 * 4 interleaved accumulators through a 4-level cascade, then the scalar tail, then the lanes. The
 * cascade depends on the pixel count only, so all channels run it together, a row of c values per
 * accumulator; each channel sees exactly the additions of the scalar version.
 */
void TorchCascadeSums(const float* x, int64_t pixels, int64_t c, std::vector<float>& acc, float* sums) {
  constexpr int kLanes = 8, kIlp = 4, kLevels = 4;
  const int width = pixels >= kLanes ? kLanes : 1;
  const int64_t size = width == kLanes ? pixels / kLanes : pixels;
  auto row = [&](int64_t e, int lane) { return x + (e * width + lane) * c; };
  const int64_t groups = size / kIlp;
  const int lp = std::max(4, CeilLog2(groups) / kLevels);
  const int64_t step = int64_t{1} << lp, mask = step - 1;
  const int lvl = kIlp * width;
  acc.assign(static_cast<size_t>(kLevels * lvl * c), 0.0f);
  auto a = [&](int q) { return acc.data() + q * c; };
  int64_t i = 0;
  while (i + step <= groups) {
    for (int64_t j = 0; j < step; j++, i++) {
      for (int k = 0; k < kIlp; k++)
        for (int l = 0; l < width; l++) AddRow(a(k * width + l), row(i * kIlp + k, l), c);
    }
    for (int j = 1; j < kLevels; j++) {
      for (int q = 0; q < lvl; q++) {
        AddRow(a(j * lvl + q), a((j - 1) * lvl + q), c);
        std::fill(a((j - 1) * lvl + q), a((j - 1) * lvl + q) + c, 0.0f);
      }
      if ((i & (mask << (j * lp))) != 0) break;
    }
  }
  for (; i < groups; i++) {
    for (int k = 0; k < kIlp; k++)
      for (int l = 0; l < width; l++) AddRow(a(k * width + l), row(i * kIlp + k, l), c);
  }
  for (int j = 1; j < kLevels; j++)
    for (int q = 0; q < lvl; q++) AddRow(a(q), a(j * lvl + q), c);
  for (int64_t e = groups * kIlp; e < size; e++)
    for (int l = 0; l < width; l++) AddRow(a(l), row(e, l), c);
  for (int k = 1; k < kIlp; k++)
    for (int l = 0; l < width; l++) AddRow(a(l), a(k * width + l), c);
  if (width == 1) {
    std::memcpy(sums, a(0), static_cast<size_t>(c) * sizeof(float));
    return;
  }
  std::fill(sums, sums + c, 0.0f);
  for (int64_t e = size * kLanes; e < pixels; e++) AddRow(sums, x + e * c, c);
  for (int l = 0; l < kLanes; l++) AddRow(sums, a(l), c);
}

/**
 * torchSpatialMean(x, [n, h, w, c]) -> Float32Array [n * c]: the mean over H and W of NHWC x,
 * summed in PyTorch's order (TorchCascadeSums), then divided by h * w as lib/quant/gate.ts does
 * (float32 of the float64 quotient). Bit for bit the composite's result.
 */
Napi::Value TorchSpatialMean(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32View x = ArgF32(info, 0, "TorchSpatialMean x");
  std::vector<int64_t> shape = ArgInts(info, 1, "TorchSpatialMean shape");
  if (shape.size() != 4) throw Napi::RangeError::New(env, "TorchSpatialMean: expected an NHWC shape of 4 dimensions");
  CheckLength(env, x, shape, "TorchSpatialMean x");
  const int64_t n = shape[0], pixels = shape[1] * shape[2], c = shape[3];
  if (pixels <= 0) throw Napi::RangeError::New(env, "TorchSpatialMean: H * W must be at least 1");
  float* y = nullptr;
  Napi::Float32Array out = NewF32(env, static_cast<size_t>(n * c), &y);
  std::vector<float> acc;
  for (int64_t b = 0; b < n; b++) {
    float* sums = y + b * c;
    TorchCascadeSums(x.data + b * pixels * c, pixels, c, acc, sums);
    for (int64_t k = 0; k < c; k++) sums[k] = static_cast<float>(static_cast<double>(sums[k]) / static_cast<double>(pixels));
  }
  return out;
}

}  // namespace

void ColumnSumsInOrder(const float* x, int64_t rows, int64_t cols, float* y) {
  MiddleSums(x, 1, rows, cols, Load{0.0f}, y);
}

void RegisterReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("torchSpatialMean", Napi::Function::New(env, TorchSpatialMean));
}

}  // namespace ddtb
