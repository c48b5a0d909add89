// 2-D convolution kernels (forward with optional bias and ReLU, backward data, backward filter) on
// oneDNN, for tfjs's layouts: activations NHWC, filters HWIO [KH, KW, CI, CO], float32.
//
// Filters are reordered from HWIO into the layout the primitive asks for (`any`), which is about
// twice as fast as forcing HWIO; the reorder of a 3x3x64x64 filter costs microseconds.
// Activations (layout, from DDTB_CONV_LAYOUT): 1 lets oneDNN pick their layout (blocked, nChw8c on
// AVX2, nChw16c on AVX-512) and reorders them into it and back around each call, as PyTorch does for
// NCHW tensors; on AVX2 its NHWC kernels trail the blocked ones (16x48x48x64: forward 18.9 -> 14.4 ms,
// filter gradient 33.6 -> 19.7 ms, for a reorder of 0.3-0.6 ms per side). The reordered copies live in
// per-thread scratch slots (`Scratch`). 0 hands NHWC to oneDNN in place. 2 (the default) is 1 where
// oneDNN runs AVX2 code and NHWC in place where it runs AVX-512 code (there its NHWC kernels match the
// blocked ones). With 1 and 2, the forward pass of convs with 1-4 outputs (conv_narrow.cc) and some
// filter gradients (conv_filter_grad.cc) run our own code.
// Primitive descriptors, primitives and the filter buffers are cached per geometry and per JS
// thread (no locking).
#include <oneapi/dnnl/dnnl.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <list>
#include <new>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "buffers.h"
#include "conv_filter_grad.h"
#include "conv_narrow.h"
#include "kernels.h"

namespace ddtb {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& Engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

// One stream and one set of caches per JS thread (the main thread, or each worker that loads tfjs).
dnnl::stream& Stream() {
  thread_local dnnl::stream s(Engine());
  return s;
}

/** Convolution geometry in tfjs terms (NHWC / HWIO), validated against oneDNN's output-size rule. */
struct Geometry {
  int64_t n, ih, iw, ci;      // input
  int64_t kh, kw, co;         // filter
  int64_t oh, ow;             // output
  int64_t sh, sw, dh, dw;     // strides, dilations (1 = none)
  int64_t pt, pb, pl, pr;     // padding top, bottom, left, right
  int algo;                   // 0 direct, 1 winograd, 2 auto
  bool blocked;               // activations in oneDNN's choice of layout, reordered around each call
  bool own;                   // our kernels (conv_narrow.cc, conv_filter_grad.cc) where they apply

  memory::dims Src() const { return {n, ci, ih, iw}; }
  memory::dims Dst() const { return {n, co, oh, ow}; }
  memory::dims Weights() const { return {co, ci, kh, kw}; }
  memory::dims Strides() const { return {sh, sw}; }
  memory::dims Dilates() const { return {dh - 1, dw - 1}; }
  memory::dims PadL() const { return {pt, pl}; }
  memory::dims PadR() const { return {pb, pr}; }

  /** Multiply-adds of one pass (the same count for forward and both gradients). */
  double Macs() const { return static_cast<double>(n) * oh * ow * co * kh * kw * ci; }

  std::string Key(const char* kind, bool bias, bool relu, int threads) const {
    std::ostringstream k;
    k << kind << ':' << threads << ':' << n << ',' << ih << ',' << iw << ',' << ci << ',' << kh << ',' << kw << ',' << co << ','
      << oh << ',' << ow << ',' << sh << ',' << sw << ',' << dh << ',' << dw << ',' << pt << ',' << pb << ','
      << pl << ',' << pr << ',' << algo << ',' << blocked << ',' << own << ',' << bias << ',' << relu;
    return k.str();
  }
};

/**
 * Runs small convolutions on one thread: below ~2M multiply-adds (tens of microseconds) a parallel
 * region costs more than it saves, and much more when other processes hold the cores. oneDNN reads
 * the thread count when a primitive is created and run, and keys its own cache on it; so does ours.
 */
class ThreadScope {
 public:
  explicit ThreadScope(const Geometry& g) {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    if (g.Macs() < kSerialMacs && saved_ > 1) omp_set_num_threads(1);
    threads_ = omp_get_max_threads();
#endif
  }
  ~ThreadScope() {
#ifdef _OPENMP
    if (threads_ != saved_) omp_set_num_threads(saved_);
#endif
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
  int threads() const { return threads_; }

 private:
  static constexpr double kSerialMacs = 2.0 * 1024 * 1024;
  int saved_ = 1, threads_ = 1;
};

/** Whether oneDNN runs its AVX-512 code here (it honours ONEDNN_MAX_CPU_ISA). */
bool OneDnnHasAvx512() {
  static const bool has = (static_cast<int>(dnnl::get_effective_cpu_isa()) & dnnl_cpu_isa_avx512_core) ==
                          dnnl_cpu_isa_avx512_core;
  return has;
}

/**
 * Reads the geometry from the arguments: input shape [N,H,W,CI], filter shape [KH,KW,CI,CO],
 * output shape [N,OH,OW,CO], and conv = [strideH, strideW, dilationH, dilationW, padTop, padBottom,
 * padLeft, padRight, algo, layout]. Layout 0 runs oneDNN alone on the NHWC arrays in place; 1 reorders
 * the activations into oneDNN's blocked layout and uses our kernels where they apply; 2 (the default)
 * is 1 where oneDNN runs AVX2 code and NHWC in place with our kernels where it runs AVX-512 code (whose
 * NHWC kernels match its blocked ones, so the reorders would be pure cost; figures in native/README.md).
 * Throws a RangeError when oneDNN's size rule does not give the output size.
 */
Geometry ReadGeometry(Napi::Env env, const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                      const std::vector<int64_t>& y, const std::vector<int64_t>& c) {
  if (x.size() != 4 || w.size() != 4 || y.size() != 4 || c.size() != 10) {
    throw Napi::RangeError::New(env, "conv2d: expected rank-4 shapes and 10 geometry values");
  }
  const int64_t layout = c[9];
  // oneDNN's f32 Winograd takes blocked activations only: with it, auto means blocked everywhere
  Geometry g{x[0], x[1], x[2], x[3], w[0], w[1], w[3], y[1], y[2], c[0], c[1], c[2], c[3],
             c[4], c[5], c[6], c[7], static_cast<int>(c[8]),
             layout == 1 || (layout == 2 && (!OneDnnHasAvx512() || c[8] != 0)), layout != 0};
  const int64_t ekh = (g.kh - 1) * g.dh + 1, ekw = (g.kw - 1) * g.dw + 1;
  const bool ok = w[2] == g.ci && y[0] == g.n && y[3] == g.co && g.sh > 0 && g.sw > 0 && g.dh > 0 && g.dw > 0 &&
                  g.ih + g.pt + g.pb - ekh >= 0 && g.iw + g.pl + g.pr - ekw >= 0 &&
                  (g.ih + g.pt + g.pb - ekh) / g.sh + 1 == g.oh && (g.iw + g.pl + g.pr - ekw) / g.sw + 1 == g.ow &&
                  (layout == 0 || layout == 1 || layout == 2);
  if (!ok) throw Napi::RangeError::New(env, "conv2d: inconsistent shapes, strides or padding");
  return g;
}

dnnl::algorithm Algorithm(int algo) {
  switch (algo) {
    case 1: return dnnl::algorithm::convolution_winograd;
    case 2: return dnnl::algorithm::convolution_auto;
    default: return dnnl::algorithm::convolution_direct;
  }
}

memory::desc NhwcSrc(const Geometry& g) { return memory::desc(g.Src(), dt::f32, tag::nhwc); }
memory::desc NhwcDst(const Geometry& g) { return memory::desc(g.Dst(), dt::f32, tag::nhwc); }

enum class Pass { kForward, kBackwardData, kBackwardWeights };

/**
 * The activation format a pass asks oneDNN for: `any` (its blocked layout) when the geometry is
 * blocked, else NHWC. One exception, measured: the input gradient of a conv with under 8 output channels
 * (an SR network's last conv, 64 -> 3) is faster on NHWC in place (1x512x512: 7.2 ms against 13 ms
 * blocked), while its forward and filter gradient are faster blocked (49.7 -> 27 ms, 61 -> 17 ms).
 */
tag ActivationTag(const Geometry& g, Pass pass) {
  if (!g.blocked) return tag::nhwc;
  if (pass == Pass::kBackwardData && g.co < 8) return tag::nhwc;
  return tag::any;
}

/** The geometry our stride-1 kernels take (conv_stride1.h). */
Stride1Conv Stride1Of(const Geometry& g) { return {g.n, g.ih, g.iw, g.ci, g.kh, g.kw, g.co, g.oh, g.ow, g.pt, g.pl}; }

/**
 * Whether the forward pass goes to conv_narrow.cc instead of oneDNN: under 5 output channels, stride
 * 1, no dilation, our kernels allowed (layouts 1 and 2; with or without the Winograd flag), where
 * that kernel runs (NarrowConvSupported). oneDNN's direct conv reaches about 35 GFLOP/s for
 * 64 -> 3 in its AVX2 and its AVX-512 code; see conv_narrow.cc.
 */
bool UseNarrow(const Geometry& g) {
  return g.own && g.co <= 4 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
         NarrowConvSupported(Stride1Of(g));
}

/**
 * Whether the filter gradient goes to conv_filter_grad.cc instead of oneDNN: stride 1, no dilation,
 * our kernels allowed, where that kernel runs (ConvFilterGradSupported). It reads
 * the NHWC arrays in place (an AVX-512 EPYC, 16x48x48x64 -> 64: 12.6 ms against oneDNN's 14.1 ms plus
 * 1.9 ms of reorders; 64 -> 3 at 192x192: 19.3 ms against 57.7 ms; more in conv_filter_grad.cc).
 */
bool UseOwnFilterGrad(const Geometry& g) {
  return g.own && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
         ConvFilterGradSupported(Stride1Of(g), OneDnnHasAvx512());
}

/**
 * `make(algorithm)` for the geometry's algorithm; Winograd/auto fall back to direct when oneDNN has
 * no such implementation for this geometry or machine.
 */
template <typename Make>
auto WithDirectFallback(const Geometry& g, Make make) -> decltype(make(dnnl::algorithm::convolution_direct)) {
  if (g.algo != 0) {
    try {
      return make(Algorithm(g.algo));
    } catch (const dnnl::error&) {
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

/**
 * Forward primitive descriptor (see WithDirectFallback for the algorithm); `residual` adds the prior
 * contents of dst after the bias (oneDNN's sum post-op), which conv2dForward fills with the residual.
 */
dnnl::convolution_forward::primitive_desc ForwardDesc(const Geometry& g, bool bias, bool relu,
                                                      Pass pass = Pass::kForward, bool residual = false) {
  memory::desc src(g.Src(), dt::f32, ActivationTag(g, pass));
  memory::desc dst(g.Dst(), dt::f32, ActivationTag(g, pass));
  memory::desc wts(g.Weights(), dt::f32, tag::any);
  memory::desc bia({g.co}, dt::f32, tag::x);
  dnnl::primitive_attr attr;
  if (relu || residual) {
    dnnl::post_ops ops;
    if (residual) ops.append_sum(1.0f);
    if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  auto make = [&](dnnl::algorithm a) {
    auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, a, src, wts, bia, dst,
                                                    g.Strides(), g.Dilates(), g.PadL(), g.PadR())
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, a, src, wts, dst,
                                                    g.Strides(), g.Dilates(), g.PadL(), g.PadR());
    return dnnl::convolution_forward::primitive_desc(d, attr, Engine());
  };
  return WithDirectFallback(g, make);
}

/**
 * Memory for activations in a primitive's layout: three slots per JS thread (a pass reorders at most
 * one input and one output; the combined backward pass also keeps a ReLU-masked dy), each grown to
 * the largest size asked for and kept, so the pages are faulted in once. Training an EDSR x4 at
 * batch 16, 48x48 grows them to its largest conv output, 16x96x96x256 floats (151 MB).
 */
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    for (Slot& s : slots_) std::free(s.data);
  }

  float* Get(int slot, size_t bytes) {
    Slot& s = slots_[slot];
    if (bytes > s.bytes) {
      const size_t rounded = (bytes + 4095) / 4096 * 4096;
      void* fresh = std::aligned_alloc(4096, rounded);
      if (fresh == nullptr) throw std::bad_alloc();
      std::free(s.data);
      s.data = static_cast<float*>(fresh);
      s.bytes = rounded;
    }
    return s.data;
  }

 private:
  struct Slot {
    float* data = nullptr;
    size_t bytes = 0;
  };
  Slot slots_[3];
};

thread_local Scratch scratch;

/** A reorder between a user layout and a primitive's layout; the primitive side's buffer is the caller's. */
struct Relayout {
  bool needed = false;
  memory::desc user, inner;
  dnnl::reorder prim;

  void Init(const memory::desc& user_md, const memory::desc& inner_md, bool to_inner) {
    user = user_md;
    inner = inner_md;
    needed = !(user_md == inner_md);
    if (!needed) return;
    prim = to_inner ? dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), user_md, Engine(), inner_md))
                    : dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), inner_md, Engine(), user_md));
  }

  size_t InnerBytes() const { return inner.get_size(); }

  /** Memory for the primitive: the user's data in place, or its copy reordered into `buf`. */
  dnnl::memory ToInner(float* user_data, float* buf) {
    dnnl::memory u(user, Engine(), user_data);
    if (!needed) return u;
    dnnl::memory in(inner, Engine(), buf);
    prim.execute(Stream(), u, in);
    return in;
  }

  /** Memory the primitive writes: the user's array in place, or `buf` (then FromInner). */
  dnnl::memory Inner(float* user_data, float* buf) {
    return needed ? dnnl::memory(inner, Engine(), buf) : dnnl::memory(user, Engine(), user_data);
  }

  void FromInner(float* buf, float* user_data) {
    if (!needed) return;
    dnnl::memory in(inner, Engine(), buf), u(user, Engine(), user_data);
    prim.execute(Stream(), in, u);
  }
};

/** Frees what std::aligned_alloc returned. */
struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

/**
 * A relayout of small data (filters) that owns the buffer of the primitive's side. The buffer is
 * 64-byte aligned: oneDNN's AVX-512 kernels load 64-byte vectors of filter taps, and from malloc's
 * 16-byte alignment every such load splits a cache line (on a Sapphire Rapids Xeon the 16x48x48x64
 * forward conv took 8.6 ms against 7.7 ms with the same primitive on an aligned copy).
 */
struct OwnedRelayout {
  Relayout r;
  std::unique_ptr<float, AlignedFree> buf;

  void Init(const memory::desc& user_md, const memory::desc& inner_md, bool to_inner) {
    r.Init(user_md, inner_md, to_inner);
    if (!r.needed) return;
    const size_t bytes = (inner_md.get_size() + 63) / 64 * 64;
    void* fresh = std::aligned_alloc(64, bytes);
    if (fresh == nullptr) throw std::bad_alloc();
    buf.reset(static_cast<float*>(fresh));
  }
  dnnl::memory ToInner(float* user_data) { return r.ToInner(user_data, buf.get()); }
  dnnl::memory Inner(float* user_data) { return r.Inner(user_data, buf.get()); }
  void FromInner(float* user_data) { r.FromInner(buf.get(), user_data); }
};

/** y[i] = x[i] (OpenMP threads for large arrays). */
void CopyParallel(const float* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < n; c += 16384) std::memcpy(y + c, x + c, sizeof(float) * static_cast<size_t>(std::min<int64_t>(16384, n - c)));
}

/** y[i] += r[i] in float32. */
void AddInPlace(float* y, const float* r, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] + r[i];
}

/** The scratch slot's buffer for a relayout that needs one, else null (the user's array is used). */
float* ScratchFor(const Relayout& r, int slot) { return r.needed ? scratch.Get(slot, r.InnerBytes()) : nullptr; }

struct ForwardEntry {
  dnnl::convolution_forward prim;
  OwnedRelayout weights;
  Relayout src, dst;
  Relayout residual;  // NHWC -> the primitive's dst layout, when a residual is added
};

struct BackwardDataEntry {
  dnnl::convolution_backward_data prim;
  OwnedRelayout weights;
  Relayout diff_dst, diff_src;
};

struct BackwardWeightsEntry {
  dnnl::convolution_backward_weights prim;
  OwnedRelayout weights;
  Relayout src, diff_dst;
  std::string impl;  // oneDNN's implementation name (diagnostics)
};

/** A small least-recently-used cache of entries by key. */
template <typename Entry>
class Cache {
 public:
  explicit Cache(size_t capacity) : capacity_(capacity) {}

  Entry* Find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  Entry* Insert(const std::string& key, Entry&& e) {
    order_.emplace_front(key, std::move(e));
    index_[key] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return &order_.front().second;
  }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, Entry>> order_;
  std::unordered_map<std::string, typename std::list<std::pair<std::string, Entry>>::iterator> index_;
};

thread_local Cache<ForwardEntry> forward_cache(128);
thread_local Cache<BackwardDataEntry> backward_data_cache(128);
thread_local Cache<BackwardWeightsEntry> backward_weights_cache(128);

memory::desc UserWeights(const Geometry& g) { return memory::desc(g.Weights(), dt::f32, tag::hwio); }

/** The cached BackwardData primitive for this geometry and thread count, created on first use. */
BackwardDataEntry* BackwardDataFor(const Geometry& g, int threads) {
  const std::string key = g.Key("bwd_data", false, false, threads);
  BackwardDataEntry* e = backward_data_cache.Find(key);
  if (e == nullptr) {
    auto hint = ForwardDesc(g, false, false, Pass::kBackwardData);
    const tag at = ActivationTag(g, Pass::kBackwardData);
    memory::desc dsrc(g.Src(), dt::f32, at), ddst(g.Dst(), dt::f32, at);
    memory::desc wts(g.Weights(), dt::f32, tag::any);
    auto make = [&](dnnl::algorithm a) {
      dnnl::convolution_backward_data::desc d(a, dsrc, wts, ddst, g.Strides(), g.Dilates(), g.PadL(), g.PadR());
      return dnnl::convolution_backward_data::primitive_desc(d, Engine(), hint);
    };
    const auto pd = WithDirectFallback(g, make);
    BackwardDataEntry fresh{dnnl::convolution_backward_data(pd), {}, {}, {}};
    fresh.weights.Init(UserWeights(g), pd.weights_desc(), true);
    fresh.diff_dst.Init(NhwcDst(g), pd.diff_dst_desc(), true);
    fresh.diff_src.Init(NhwcSrc(g), pd.diff_src_desc(), false);
    e = backward_data_cache.Insert(key, std::move(fresh));
  }
  return e;
}

/**
 * The cached BackwardWeights primitive for this geometry and thread count, created on first use.
 * Always the direct algorithm: oneDNN 2.6's Winograd filter gradient (AVX-512) crashed on
 * 16x96x96x64 -> 256 here (a segmentation fault inside its generated code), and the filter gradient
 * is where Winograd's larger error would go straight into the weights.
 */
BackwardWeightsEntry* BackwardWeightsFor(const Geometry& geometry, int threads) {
  Geometry g = geometry;
  g.algo = 0;
  const std::string key = g.Key("bwd_weights", false, false, threads);
  BackwardWeightsEntry* e = backward_weights_cache.Find(key);
  if (e == nullptr) {
    auto hint = ForwardDesc(g, false, false, Pass::kBackwardWeights);
    const tag at = ActivationTag(g, Pass::kBackwardWeights);
    memory::desc src(g.Src(), dt::f32, at), ddst(g.Dst(), dt::f32, at);
    memory::desc dwts(g.Weights(), dt::f32, tag::any);
    auto make = [&](dnnl::algorithm a) {
      dnnl::convolution_backward_weights::desc d(a, src, dwts, ddst, g.Strides(), g.Dilates(), g.PadL(), g.PadR());
      return dnnl::convolution_backward_weights::primitive_desc(d, Engine(), hint);
    };
    const auto pd = make(dnnl::algorithm::convolution_direct);
    BackwardWeightsEntry fresh{dnnl::convolution_backward_weights(pd), {}, {}, {}, pd.impl_info_str()};
    fresh.weights.Init(UserWeights(g), pd.diff_weights_desc(), false);
    fresh.src.Init(NhwcSrc(g), pd.src_desc(), true);
    fresh.diff_dst.Init(NhwcDst(g), pd.diff_dst_desc(), true);
    e = backward_weights_cache.Insert(key, std::move(fresh));
  }
  return e;
}

/** Runs `body`, turning oneDNN errors into JS errors that name the kernel. */
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, const char* kernel, F body) {
  try {
    return body();
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string(kernel) + ": oneDNN error: " + e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), std::string(kernel) + ": out of memory for the reordered activations");
  }
}

/**
 * y = conv(x, w) (+ bias) (+ residual) (then ReLU) for geometry `g`, NHWC in and out: conv_narrow.cc
 * where it applies, else the cached oneDNN primitive, with the activations reordered as `g` says.
 */
void RunForward(const Geometry& g, const float* x, const float* w, const float* bias, bool relu,
                const float* residual, float* y, int threads) {
  const int64_t ny = g.n * g.oh * g.ow * g.co;
  if (UseNarrow(g)) {
    NarrowConvForward(Stride1Of(g), x, w, bias, relu, y);
    if (residual != nullptr) AddInPlace(y, residual, ny);
    return;
  }
  const bool has_bias = bias != nullptr, has_residual = residual != nullptr;
  const std::string key = g.Key(has_residual ? "fwd+residual" : "fwd", has_bias, relu, threads);
  ForwardEntry* e = forward_cache.Find(key);
  if (e == nullptr) {
    auto pd = ForwardDesc(g, has_bias, relu, Pass::kForward, has_residual);
    ForwardEntry fresh{dnnl::convolution_forward(pd), {}, {}, {}, {}};
    fresh.weights.Init(UserWeights(g), pd.weights_desc(), true);
    fresh.src.Init(NhwcSrc(g), pd.src_desc(), true);
    fresh.dst.Init(NhwcDst(g), pd.dst_desc(), false);
    if (has_residual) fresh.residual.Init(NhwcDst(g), pd.dst_desc(), true);
    e = forward_cache.Insert(key, std::move(fresh));
  }
  float* src_buf = ScratchFor(e->src, 0);
  float* dst_buf = ScratchFor(e->dst, 1);
  if (has_residual) {
    // dst starts as the residual (the sum post-op adds to it): copied, or reordered into dst_buf
    if (e->residual.needed) {
      e->residual.ToInner(const_cast<float*>(residual), dst_buf);
    } else {
      CopyParallel(residual, y, ny);
    }
  }
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, e->src.ToInner(const_cast<float*>(x), src_buf)},
                                             {DNNL_ARG_WEIGHTS, e->weights.ToInner(const_cast<float*>(w))},
                                             {DNNL_ARG_DST, e->dst.Inner(y, dst_buf)}};
  if (has_bias) {
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(memory::desc({g.co}, dt::f32, tag::x), Engine(), const_cast<float*>(bias)));
  }
  e->prim.execute(Stream(), args);
  e->dst.FromInner(dst_buf, y);
  Stream().wait();
}

/**
 * Whether the input gradient runs as a forward conv of dy with the filter flipped and transposed
 * (dx = conv(dy, w'), w'[KH-1-i][KW-1-j][k][c] = w[i][j][c][k], padding KH-1-pt etc.): stride 1, no
 * dilation, direct, NHWC in place with our kernels (auto on AVX-512), padding within the filter. There
 * oneDNN's forward kernel (brgconv) beats its input-gradient one (jit); NHWC, an AVX-512 EPYC, 2
 * threads: the input gradient of 16x48x48x64 -> 64 13.1 against a forward of that size 12.2 ms, of
 * 64 -> 256 at 96x96 217.6 against 202.2 ms, of 64 -> 3 at 192x192 77.8 (a forward 3 -> 64: 12.5 ms).
 */
bool UseForwardForInputGrad(const Geometry& g) {
  return g.own && !g.blocked && g.algo == 0 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
         g.pt < g.kh && g.pb < g.kh && g.pl < g.kw && g.pr < g.kw;
}

/** The forward geometry of that conv: dy in, dx out. */
Geometry InputGradAsForward(const Geometry& g) {
  Geometry t = g;
  t.ih = g.oh;
  t.iw = g.ow;
  t.ci = g.co;
  t.co = g.ci;
  t.oh = g.ih;
  t.ow = g.iw;
  t.pt = g.kh - 1 - g.pt;
  t.pb = g.kh - 1 - g.pb;
  t.pl = g.kw - 1 - g.pl;
  t.pr = g.kw - 1 - g.pr;
  return t;
}

/** dx of geometry `g` as a forward conv (UseForwardForInputGrad). */
void InputGradByForward(const Geometry& g, const float* dy, const float* w, float* dx, int threads) {
  thread_local std::vector<float> flipped;
  flipped.resize(static_cast<size_t>(g.kh * g.kw * g.ci * g.co));
  for (int64_t i = 0; i < g.kh; i++)
    for (int64_t j = 0; j < g.kw; j++) {
      const float* src = w + (i * g.kw + j) * g.ci * g.co;
      float* dst = flipped.data() + ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.co * g.ci;
      for (int64_t c = 0; c < g.ci; c++)
        for (int64_t k = 0; k < g.co; k++) dst[k * g.ci + c] = src[c * g.co + k];
    }
  RunForward(InputGradAsForward(g), dy, flipped.data(), nullptr, false, nullptr, dx, threads);
}

/**
 * conv2dForward(x, xShape, filter, filterShape, bias | null, outShape, conv, relu[, residual])
 *   -> Float32Array
 * x: [N,H,W,CI] NHWC; filter: [KH,KW,CI,CO] HWIO; bias: [CO] or null; output [N,OH,OW,CO] NHWC.
 * relu applies max(0, .) after the bias; residual (the output's shape, or null) is added after the
 * bias: y = round(conv + bias) + residual in float32, as a FusedConv2D followed by an Add computes it.
 */
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  return Guard(info, "Conv2D", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    F32View x = ArgF32(info, 0, "Conv2D x");
    std::vector<int64_t> xs = ArgInts(info, 1, "Conv2D x shape");
    F32View w = ArgF32(info, 2, "Conv2D filter");
    std::vector<int64_t> ws = ArgInts(info, 3, "Conv2D filter shape");
    const bool has_bias = info[4].IsTypedArray();
    std::vector<int64_t> ys = ArgInts(info, 5, "Conv2D output shape");
    Geometry g = ReadGeometry(env, xs, ws, ys, ArgInts(info, 6, "Conv2D geometry"));
    const bool relu = info[7].ToBoolean();
    const bool has_residual = info.Length() > 8 && info[8].IsTypedArray();
    F32View r{nullptr, 0};
    if (has_residual) {
      r = ArgF32(info, 8, "Conv2D residual");
      CheckLength(env, r, ys, "Conv2D residual");
      if (relu) throw Napi::RangeError::New(env, "Conv2D: a residual goes with a linear conv only");
    }
    CheckLength(env, x, xs, "Conv2D x");
    CheckLength(env, w, ws, "Conv2D filter");
    F32View b{nullptr, 0};
    if (has_bias) {
      b = ArgF32(info, 4, "Conv2D bias");
      CheckLength(env, b, {g.co}, "Conv2D bias");
    }

    ThreadScope threads(g);
    float* yp = nullptr;
    Napi::Float32Array out = NewF32(env, static_cast<size_t>(SizeOf(ys)), &yp);
    RunForward(g, x.data, w.data, has_bias ? b.data : nullptr, relu, has_residual ? r.data : nullptr, yp,
               threads.threads());
    return out;
  });
}

/**
 * conv2dBackpropInput(dy, dyShape, filter, filterShape, xShape, conv) -> Float32Array dx [N,H,W,CI].
 * dy: [N,OH,OW,CO] NHWC; filter: [KH,KW,CI,CO] HWIO.
 */
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  return Guard(info, "Conv2DBackpropInput", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    F32View dy = ArgF32(info, 0, "Conv2DBackpropInput dy");
    std::vector<int64_t> ys = ArgInts(info, 1, "Conv2DBackpropInput dy shape");
    F32View w = ArgF32(info, 2, "Conv2DBackpropInput filter");
    std::vector<int64_t> ws = ArgInts(info, 3, "Conv2DBackpropInput filter shape");
    std::vector<int64_t> xs = ArgInts(info, 4, "Conv2DBackpropInput input shape");
    Geometry g = ReadGeometry(env, xs, ws, ys, ArgInts(info, 5, "Conv2DBackpropInput geometry"));
    CheckLength(env, dy, ys, "Conv2DBackpropInput dy");
    CheckLength(env, w, ws, "Conv2DBackpropInput filter");

    ThreadScope threads(g);
    float* xp = nullptr;
    if (UseForwardForInputGrad(g)) {
      Napi::Float32Array out = NewF32(env, static_cast<size_t>(SizeOf(xs)), &xp);
      InputGradByForward(g, dy.data, w.data, xp, threads.threads());
      return out;
    }
    BackwardDataEntry* e = BackwardDataFor(g, threads.threads());
    Napi::Float32Array out = NewF32(env, static_cast<size_t>(SizeOf(xs)), &xp);
    float* ddst_buf = ScratchFor(e->diff_dst, 0);
    float* dsrc_buf = ScratchFor(e->diff_src, 1);
    e->prim.execute(Stream(), {{DNNL_ARG_DIFF_DST, e->diff_dst.ToInner(dy.data, ddst_buf)},
                               {DNNL_ARG_WEIGHTS, e->weights.ToInner(w.data)},
                               {DNNL_ARG_DIFF_SRC, e->diff_src.Inner(xp, dsrc_buf)}});
    e->diff_src.FromInner(dsrc_buf, xp);
    Stream().wait();
    return out;
  });
}

/**
 * conv2dBackpropFilter(x, xShape, dy, dyShape, filterShape, conv) -> Float32Array dw [KH,KW,CI,CO].
 * x: [N,H,W,CI] NHWC; dy: [N,OH,OW,CO] NHWC.
 */
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  return Guard(info, "Conv2DBackpropFilter", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    F32View x = ArgF32(info, 0, "Conv2DBackpropFilter x");
    std::vector<int64_t> xs = ArgInts(info, 1, "Conv2DBackpropFilter x shape");
    F32View dy = ArgF32(info, 2, "Conv2DBackpropFilter dy");
    std::vector<int64_t> ys = ArgInts(info, 3, "Conv2DBackpropFilter dy shape");
    std::vector<int64_t> ws = ArgInts(info, 4, "Conv2DBackpropFilter filter shape");
    Geometry g = ReadGeometry(env, xs, ws, ys, ArgInts(info, 5, "Conv2DBackpropFilter geometry"));
    CheckLength(env, x, xs, "Conv2DBackpropFilter x");
    CheckLength(env, dy, ys, "Conv2DBackpropFilter dy");

    ThreadScope threads(g);
    float* wp = nullptr;
    if (UseOwnFilterGrad(g)) {
      Napi::Float32Array out = NewF32(env, static_cast<size_t>(SizeOf(ws)), &wp);
      ConvFilterGrad(Stride1Of(g), x.data, dy.data, wp, OneDnnHasAvx512());
      return out;
    }
    BackwardWeightsEntry* e = BackwardWeightsFor(g, threads.threads());
    Napi::Float32Array out = NewF32(env, static_cast<size_t>(SizeOf(ws)), &wp);
    float* src_buf = ScratchFor(e->src, 0);
    float* ddst_buf = ScratchFor(e->diff_dst, 1);
    e->prim.execute(Stream(), {{DNNL_ARG_SRC, e->src.ToInner(x.data, src_buf)},
                               {DNNL_ARG_DIFF_DST, e->diff_dst.ToInner(dy.data, ddst_buf)},
                               {DNNL_ARG_DIFF_WEIGHTS, e->weights.Inner(wp)}});
    e->weights.FromInner(wp);
    Stream().wait();
    return out;
  });
}

/**
 * The filter gradient on oneDNN for conv2dBackward: reuses slot 0's dy (`dy_buf`, reordered by the
 * input-gradient primitive `bd`, null when none ran) when both primitives read dy in the same layout.
 */
void FilterGradByOneDnn(BackwardWeightsEntry* bw, BackwardDataEntry* bd, float* x, float* dyp, float* dy_buf,
                        float* dwp) {
  dnnl::memory ddst;
  if (!bw->diff_dst.needed) {
    ddst = bw->diff_dst.Inner(dyp, nullptr);
  } else if (bd != nullptr && bd->diff_dst.needed && bd->diff_dst.inner == bw->diff_dst.inner) {
    ddst = dnnl::memory(bw->diff_dst.inner, Engine(), dy_buf);
  } else {
    ddst = bw->diff_dst.ToInner(dyp, ScratchFor(bw->diff_dst, 0));
  }
  float* x_buf = ScratchFor(bw->src, 1);
  bw->prim.execute(Stream(), {{DNNL_ARG_SRC, bw->src.ToInner(x, x_buf)},
                              {DNNL_ARG_DIFF_DST, ddst},
                              {DNNL_ARG_DIFF_WEIGHTS, bw->weights.Inner(dwp)}});
  bw->weights.FromInner(dwp);
  Stream().wait();
}

/**
 * conv2dBackward(x, xShape, dy, dyShape, filter, filterShape, y | null, conv, withBias)
 *   -> [dx, dfilter, dbias | null]
 * Both gradients of a conv (and its bias), with dy first masked by a fused ReLU's output y when y is
 * given: dy * step(y), step as tfjs's (1 where y > 0, NaN where y is NaN, else 0). The same
 * primitives as conv2dBackpropInput and conv2dBackpropFilter, and the bias gradient in tfjs's Sum
 * order, so the results are theirs bit for bit; what one call saves is the second reorder of dy,
 * the masked dy's own tensor and the separate Step, Multiply and Sum kernels.
 */
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  return Guard(info, "ConvSameGrad", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    F32View x = ArgF32(info, 0, "ConvSameGrad x");
    std::vector<int64_t> xs = ArgInts(info, 1, "ConvSameGrad x shape");
    F32View dy = ArgF32(info, 2, "ConvSameGrad dy");
    std::vector<int64_t> ys = ArgInts(info, 3, "ConvSameGrad dy shape");
    F32View w = ArgF32(info, 4, "ConvSameGrad filter");
    std::vector<int64_t> ws = ArgInts(info, 5, "ConvSameGrad filter shape");
    const bool masked = info[6].IsTypedArray();
    Geometry g = ReadGeometry(env, xs, ws, ys, ArgInts(info, 7, "ConvSameGrad geometry"));
    const bool with_bias = info[8].ToBoolean();
    CheckLength(env, x, xs, "ConvSameGrad x");
    CheckLength(env, dy, ys, "ConvSameGrad dy");
    CheckLength(env, w, ws, "ConvSameGrad filter");
    F32View y{nullptr, 0};
    if (masked) {
      y = ArgF32(info, 6, "ConvSameGrad y");
      CheckLength(env, y, ys, "ConvSameGrad y");
    }

    ThreadScope threads(g);
    const bool by_forward = UseForwardForInputGrad(g);
    BackwardDataEntry* bd = by_forward ? nullptr : BackwardDataFor(g, threads.threads());
    const bool own_filter_grad = UseOwnFilterGrad(g);
    BackwardWeightsEntry* bw = own_filter_grad ? nullptr : BackwardWeightsFor(g, threads.threads());

    const int64_t n_dy = SizeOf(ys);
    float* dyp = dy.data;
    if (masked) {
      dyp = scratch.Get(2, static_cast<size_t>(n_dy) * sizeof(float));
      const float* dv = dy.data;
      const float* yv = y.data;
#pragma omp parallel for schedule(static) if (n_dy >= kParallelMin)
      for (int64_t i = 0; i < n_dy; ++i) {
        const float v = yv[i];
        const float step = v != v ? v : (v > 0.0f ? 1.0f : 0.0f);
        dyp[i] = dv[i] * step;
      }
    }

    float *dxp = nullptr, *dwp = nullptr, *dbp = nullptr;
    Napi::Float32Array dx = NewF32(env, static_cast<size_t>(SizeOf(xs)), &dxp);
    Napi::Float32Array dw = NewF32(env, static_cast<size_t>(SizeOf(ws)), &dwp);
    Napi::Value db = env.Null();
    if (with_bias) {
      Napi::Float32Array dbv = NewF32(env, static_cast<size_t>(g.co), &dbp);
      ColumnSumsInOrder(dyp, n_dy / g.co, g.co, dbp);
      db = dbv;
    }

    // input gradient: as a forward conv (NHWC in place), or dy (reordered into slot 0 when the
    // primitive wants another layout) -> dx
    float* dy_buf = nullptr;
    if (by_forward) {
      InputGradByForward(g, dyp, w.data, dxp, threads.threads());
    } else {
      dy_buf = ScratchFor(bd->diff_dst, 0);
      float* dx_buf = ScratchFor(bd->diff_src, 1);
      bd->prim.execute(Stream(), {{DNNL_ARG_DIFF_DST, bd->diff_dst.ToInner(dyp, dy_buf)},
                                  {DNNL_ARG_WEIGHTS, bd->weights.ToInner(w.data)},
                                  {DNNL_ARG_DIFF_SRC, bd->diff_src.Inner(dxp, dx_buf)}});
      bd->diff_src.FromInner(dx_buf, dxp);
    }

    if (own_filter_grad) {
      Stream().wait();
      ConvFilterGrad(Stride1Of(g), x.data, dyp, dwp, OneDnnHasAvx512());
    } else {
      FilterGradByOneDnn(bw, bd, x.data, dyp, dy_buf, dwp);
    }

    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, dx);
    out.Set(1u, dw);
    out.Set(2u, db);
    return out;
  });
}

/** "nhwc" when `md` is the NHWC layout of `dims`, "blocked" when it has inner channel blocks, else "plain". */
const char* LayoutName(const memory::desc& md, const memory::dims& dims) {
  if (md == memory::desc(dims, dt::f32, tag::nhwc)) return "nhwc";
  return md.data.format_desc.blocking.inner_nblks > 0 ? "blocked" : "plain";
}

/**
 * convForwardLayouts(xShape, filterShape, outShape, conv) -> { impl, src, dst }: what runs the
 * forward pass of this geometry (oneDNN's implementation name, or "conv_narrow:avx2") and the
 * layouts of its input and output ("nhwc": in place; "blocked" or "plain": reordered around the call).
 */
Napi::Value ConvForwardLayouts(const Napi::CallbackInfo& info) {
  return Guard(info, "convForwardLayouts", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Geometry g = ReadGeometry(env, ArgInts(info, 0, "x shape"), ArgInts(info, 1, "filter shape"),
                              ArgInts(info, 2, "output shape"), ArgInts(info, 3, "geometry"));
    Napi::Object o = Napi::Object::New(env);
    if (UseNarrow(g)) {
      o.Set("impl", "conv_narrow:avx2");
      o.Set("src", "nhwc");
      o.Set("dst", "nhwc");
      return o;
    }
    auto pd = ForwardDesc(g, false, false);
    o.Set("impl", pd.impl_info_str());
    o.Set("src", LayoutName(pd.src_desc(), g.Src()));
    o.Set("dst", LayoutName(pd.dst_desc(), g.Dst()));
    return o;
  });
}

/**
 * convFilterGradImpl(xShape, filterShape, outShape, conv) -> string: what runs the filter gradient of
 * this geometry: "conv_filter_grad:avx512" or "conv_filter_grad:avx2" (conv_filter_grad.cc), else
 * oneDNN's implementation name.
 */
Napi::Value ConvFilterGradImpl(const Napi::CallbackInfo& info) {
  return Guard(info, "convFilterGradImpl", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Geometry g = ReadGeometry(env, ArgInts(info, 0, "x shape"), ArgInts(info, 1, "filter shape"),
                              ArgInts(info, 2, "output shape"), ArgInts(info, 3, "geometry"));
    if (UseOwnFilterGrad(g)) {
      return Napi::String::New(env, std::string("conv_filter_grad:") +
                                        ConvFilterGradIsa(Stride1Of(g), OneDnnHasAvx512()));
    }
    ThreadScope threads(g);
    return Napi::String::New(env, BackwardWeightsFor(g, threads.threads())->impl);
  });
}

}  // namespace

/** The name of the instruction set oneDNN runs here ("avx512_core", "avx2", ...). */
const char* ConvIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

void RegisterConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Conv2dForward));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("conv2dBackward", Napi::Function::New(env, Conv2dBackward));
  exports.Set("convForwardLayouts", Napi::Function::New(env, ConvForwardLayouts));
  exports.Set("convFilterGradImpl", Napi::Function::New(env, ConvFilterGradImpl));
}

}  // namespace ddtb
