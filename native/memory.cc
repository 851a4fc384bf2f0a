// Giving memory back (docs/control-plane.md, "Memory"): after a burst of allocation (the cold
// read of a datastore, a large batch of watch events) the heap and malloc keep what they grew to.
// releaseMemory() asks V8 for its low-memory collection (a full, compacting GC that also shrinks
// the young generation back to its initial size) and glibc to return free pages at the top and
// in the middle of its arenas (malloc_trim).
#include <malloc.h>
#include <v8.h>

#include "common.h"

namespace burrow {

namespace {

Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  malloc_trim(0);
  return info.Env().Undefined();
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseMemory", Napi::Function::New<ReleaseMemory>(env, "releaseMemory"));
}

}  // namespace burrow
