// A forward convolution for few output channels (an SR network's last conv, 64 -> 3), which
// oneDNN's AVX2 kernels run at a fifth of their usual speed. Used by conv.cc.
#pragma once

#include "conv_stride1.h"

namespace ddtb {

/** NHWC input, HWIO filter, stride 1, no dilation; output [n, oh, ow, co]. */
using NarrowConv = Stride1Conv;

/** Whether `NarrowConvForward` serves this conv on this machine (AVX2 + FMA, 1-4 outputs, CI % 8 == 0). */
bool NarrowConvSupported(const NarrowConv& g);

/**
 * y = conv(x, w) + bias, then max(0, .) when `relu`; bias may be null. Each output is a sum over
 * (tap, 8 channel lanes), the lanes added at the end: float32 in another order than oneDNN's.
 * Runs on the OpenMP threads in force.
 */
void NarrowConvForward(const NarrowConv& g, const float* x, const float* w, const float* bias, bool relu, float* y);

}  // namespace ddtb
