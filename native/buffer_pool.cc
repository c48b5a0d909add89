// Pool of released output buffers: see buffer_pool.h.
//
// The pool holds strong references to released ArrayBuffers, newest last. An output takes the newest
// buffer of its exact byte length (still warm in cache, as malloc's last freed block would be); when
// the pool's bytes pass their cap, the oldest buffers are detached (freed). Buffers under kPoolMin
// bytes are detached at once: they hardly move V8's external count. The caller passes the cap with
// each release (lib/backend/buffer_release.ts reads DDTB_BUFFER_POOL_MB; 0 detaches every buffer).
#include "buffer_pool.h"

#include <list>
#include <string>

namespace ddtb {
namespace {

constexpr size_t kPoolMin = 256 * 1024;

struct Entry {
  size_t bytes;
  Napi::Reference<Napi::ArrayBuffer> ref;
};

struct Pool {
  std::list<Entry> entries;  // oldest first
  size_t bytes = 0;
  double reused = 0, pooled = 0, freed = 0;
};

// One pool per JavaScript environment (its thread); never destroyed as a static would be after the
// environment is gone: the environment's cleanup hook empties it while references can still be deleted.
thread_local Pool& pool = *new Pool();

void ClearPool(void*) {
  for (Entry& e : pool.entries) e.ref.Reset();
  pool.entries.clear();
  pool.bytes = 0;
}

bool Detach(Napi::Env env, Napi::ArrayBuffer buffer) {
  if (buffer.IsDetached()) return false;
  return napi_detach_arraybuffer(env, buffer) == napi_ok;
}

void EvictDownTo(Napi::Env env, size_t cap) {
  while (pool.bytes > cap && !pool.entries.empty()) {
    Entry& e = pool.entries.front();
    pool.bytes -= e.bytes;
    Detach(env, e.ref.Value());
    pool.entries.pop_front();
    pool.freed++;
  }
}

/**
 * release(arrayBuffer, poolCapBytes) -> boolean: the buffer is no longer read by anyone. A large one joins the pool
 * (its views keep their length but must not be read again), a small one is detached, which frees its
 * memory now instead of at V8's next collection (its views then have length 0). false when the buffer
 * was already detached or cannot be.
 */
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "release: expected an ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return Napi::Boolean::New(env, false);
  if (info.Length() < 2 || !info[1].IsNumber() || !(info[1].As<Napi::Number>().DoubleValue() >= 0)) {
    throw Napi::TypeError::New(env, "release: expected the pool's cap in bytes (a number >= 0)");
  }
  const size_t bytes = buffer.ByteLength();
  const size_t cap = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
  if (bytes < kPoolMin || bytes > cap) {
    EvictDownTo(env, cap);
    return Napi::Boolean::New(env, Detach(env, buffer));
  }
  pool.entries.push_back(Entry{bytes, Napi::Persistent(buffer)});
  pool.bytes += bytes;
  pool.pooled++;
  EvictDownTo(env, cap);
  return Napi::Boolean::New(env, true);
}

/** bufferPoolStats() -> { buffers, bytes, pooled, reused, freed }: the pool now and its counters. */
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffers", static_cast<double>(pool.entries.size()));
  o.Set("bytes", static_cast<double>(pool.bytes));
  o.Set("pooled", pool.pooled);
  o.Set("reused", pool.reused);
  o.Set("freed", pool.freed);
  return o;
}

}  // namespace

Napi::ArrayBuffer TakePooledBuffer(Napi::Env env, size_t bytes) {
  if (bytes < kPoolMin) return Napi::ArrayBuffer();
  for (auto it = pool.entries.end(); it != pool.entries.begin();) {
    --it;
    if (it->bytes != bytes) continue;
    Napi::ArrayBuffer b = it->ref.Value();
    pool.bytes -= it->bytes;
    pool.entries.erase(it);
    pool.reused++;
    return b;
  }
  (void)env;
  return Napi::ArrayBuffer();
}

void RegisterBufferPool(Napi::Env env, Napi::Object exports) {
  napi_add_env_cleanup_hook(env, ClearPool, nullptr);
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("bufferPoolStats", Napi::Function::New(env, Stats));
}

}  // namespace ddtb
