// The geometry of a stride-1, undilated convolution on NHWC activations and HWIO filters, as the
// addon's own conv kernels (conv_narrow.cc, conv_filter_grad.cc) take it from conv.cc.
#pragma once

#include <cstdint>

namespace ddtb {

struct Stride1Conv {
  int64_t n, ih, iw, ci;
  int64_t kh, kw, co;
  int64_t oh, ow;
  int64_t pt, pl;  // padding before the first row / column (the rest is implied by oh, ow)
};

}  // namespace ddtb
