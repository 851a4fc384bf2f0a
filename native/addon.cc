// burrow_native: the N-API addon over libbpf. One file per kind of kernel object; this file only
// assembles them. The JS-facing contract is typed in src/bpf/native.ts.
#include "common.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  burrow::InstallLibbpfPrint();
  burrow::InitObject(env, exports);
  burrow::InitMap(env, exports);
  burrow::InitProg(env, exports);
  burrow::InitFd(env, exports);
  burrow::InitLink(env, exports);
  burrow::InitXdp(env, exports);
  burrow::InitTc(env, exports);
  burrow::InitNetns(env, exports);
  burrow::InitMemory(env, exports);
  burrow::InitEthtool(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(burrow_native, Init)
