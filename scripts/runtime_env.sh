# Environment read at process start by the native libraries (sourced by bin/ddtb, the test and
# notebook scripts; the kernelspec carries the same values). Each can be overridden from outside.
: "${GLIBC_TUNABLES:=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824}"
: "${OMP_NUM_THREADS:=$(nproc 2>/dev/null || echo 2)}"
export GLIBC_TUNABLES OMP_NUM_THREADS
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
