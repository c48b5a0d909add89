// Reuse of released output buffers (buffer_pool.cc).
//
// A released output (lib/backend/buffer_release.ts decides which are safe) is either freed at once by
// detaching it, or, when it is large, kept here for the next output of the same byte length. Every
// fresh output is memory V8 counts as external, and growth of that count by 64 MB starts a garbage
// collection ("external memory pressure"): an EDSR x4 inference step allocates ~320 MB of outputs,
// which cost three scavenges and most of an incremental mark-compact per step, on a heap with
// nothing to collect. Reused buffers add nothing to the count.
#pragma once

#include <napi.h>

#include <cstddef>

namespace ddtb {

/** A pooled ArrayBuffer of exactly `bytes` bytes, or an empty handle when none is free. */
Napi::ArrayBuffer TakePooledBuffer(Napi::Env env, size_t bytes);

/** Adds release(arrayBuffer) and bufferPoolStats() to the exports. */
void RegisterBufferPool(Napi::Env env, Napi::Object exports);

}  // namespace ddtb
