#include <napi.h>
// placeholder; replaced by the libbpf binding
static Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }
NODE_API_MODULE(burrow_native, Init)
