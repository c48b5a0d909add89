# Environment read at process start by the native libraries (sourced by bin/ddtb, the test and
# notebook scripts; the kernelspec carries the same values). Each can be overridden from outside.
: "${GLIBC_TUNABLES:=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824}"
: "${OMP_NUM_THREADS:=$(nproc 2>/dev/null || echo 2)}"
export GLIBC_TUNABLES OMP_NUM_THREADS
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
# Node flags of every process that trains or evaluates (bin/ddtb, the test runner, the notebook
# kernel's argv; V8 refuses them in NODE_OPTIONS). Each tensor is a fresh ArrayBuffer, and V8 starts
# a mark-compact for about every 64 MB of them: several per second when training. Its concurrent
# marking threads then compete with oneDNN's OpenMP threads for the cores; marking on the main thread
# made a 2-bit EDSR training step about 25% faster here (2 cores).
: "${DDTB_NODE_FLAGS=--single-threaded-gc}"
export DDTB_NODE_FLAGS
