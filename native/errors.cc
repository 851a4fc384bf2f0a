// errno → JS error, in exactly one place. src/bpf/errors.ts maps .code/.syscall to named classes.
#include <cstring>

#include "common.h"

namespace burrow {

namespace {

// Kernel-internal errnos that leak out of the bpf syscall but that glibc has no name for.
const char* KernelOnlyName(int err) {
  switch (err) {
    case 512: return "ERESTARTSYS";
    case 524: return "ENOTSUPP";  // e.g. batch ops on a map type without them
    default: return nullptr;
  }
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& op) {
  if (err < 0) err = -err;
  const char* name = KernelOnlyName(err);
  if (name == nullptr) name = strerrorname_np(err);
  std::string code = name != nullptr ? name : "E" + std::to_string(err);
  std::string text = KernelOnlyName(err) != nullptr ? "Operation not supported" : strerror(err);
  Napi::Error e = Napi::Error::New(env, op + ": " + text + " (" + code + ")");
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, op));
  return e;
}

int Check(Napi::Env env, int ret, const std::string& op) {
  if (ret < 0) throw ErrnoError(env, ret, op);
  return ret;
}

}  // namespace burrow
