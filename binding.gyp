# The ddtb native addon: float32 kernels for tfjs's cpu backend on oneDNN (Debian libdnnl-dev) and
# OpenMP. Built by scripts/build_native.sh (npm's install hook and `npm run setup`), never required.
#
# Flags: -O3 for the portable baseline ISA (oneDNN picks its own vector code at run time, so nothing
# here assumes AVX2); -ffp-contract=off and no fast-math, so the element-wise kernels stay bit for bit
# equal to the JS kernels; C++ exceptions on, because oneDNN's C++ API throws. oneDNN is found on the
# compiler's default paths (CPATH / LIBRARY_PATH point elsewhere).
{
  "targets": [
    {
      "target_name": "ddtb_native",
      "sources": [
        "native/addon.cc",
        "native/conv.cc",
        "native/conv_filter_grad.cc",
        "native/conv_narrow.cc",
        "native/elementwise.cc",
        "native/fake_quant.cc",
        "native/pams_quant.cc",
        "native/prelu.cc",
        "native/batchnorm.cc",
        "native/buffer_pool.cc",
        "native/reduce.cc",
        "native/slice.cc",
        "native/transpose.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0"],
      "cflags": ["-O3", "-ffp-contract=off", "-fopenmp", "-fvisibility=hidden"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-ffp-contract=off", "-fopenmp", "-fvisibility=hidden"],
      "libraries": ["-ldnnl", "-fopenmp"],
      "ldflags": ["-fopenmp"]
    }
  ]
}
