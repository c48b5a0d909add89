// The filter gradient of a stride-1 convolution read straight from tfjs's NHWC activations (no
// reorders), where it beats oneDNN 2.6: outputs in 16s on AVX-512, and 1-4 outputs (an SR network's
// last conv) on AVX2 or AVX-512. Used by conv.cc; measurements in conv_filter_grad.cc.
#pragma once

#include "conv_stride1.h"

namespace ddtb {

/** NHWC input x and output gradient dy, HWIO filter gradient; stride 1, no dilation. */
using FilterGradConv = Stride1Conv;

/**
 * Whether `ConvFilterGrad` serves this conv on this machine: CO <= 4 with CI % 8 == 0 (AVX2 + FMA),
 * or CO % 16 == 0 when `allow_avx512` and the CPU has AVX-512.
 */
bool ConvFilterGradSupported(const FilterGradConv& g, bool allow_avx512);

/** "avx512" or "avx2": the code ConvFilterGrad runs for this conv (where supported). */
const char* ConvFilterGradIsa(const FilterGradConv& g, bool allow_avx512);

/**
 * dw[i][j][c][k] = sum over (b, oy, ox) of x[b][oy - pt + i][ox - pl + j][c] * dy[b][oy][ox][k]
 * (taps outside the image add nothing), with AVX-512 code only when `allow_avx512`. Rows of (b, oy)
 * are split evenly over the OpenMP threads in force; each thread sums its rows into its own partial
 * gradient, in row order, and the partials are added in thread order, so the result depends on the
 * thread count only. Call only where ConvFilterGradSupported(g, allow_avx512).
 */
void ConvFilterGrad(const FilterGradConv& g, const float* x, const float* dy, float* dw, bool allow_avx512);

}  // namespace ddtb
