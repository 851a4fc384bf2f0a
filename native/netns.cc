// Network namespace switching and interface names. setns() moves only the calling thread: the
// JS thread that runs the synchronous calls that follow (attach by ifindex, netlink queries, test
// runs). src/bpf/netns.ts wraps it so the thread always returns to where it came from.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include "common.h"

namespace burrow {

namespace {

// openNetns(path) → fd (e.g. /run/netns/NAME or /proc/thread-self/ns/net)
Napi::Value OpenNetns(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "namespace path");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(info.Env(), errno, "open(" + path + ")");
  return Napi::Number::New(info.Env(), fd);
}

// setns(pathOrFd): joins the network namespace.
Napi::Value SetNs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  bool opened = info[0].IsString();
  if (opened) {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ErrnoError(env, errno, "open(" + path + ")");
  } else {
    fd = ArgFd(info, 0, "namespace path or fd");
  }
  int ret = setns(fd, CLONE_NEWNET);
  int err = errno;
  if (opened) close(fd);
  if (ret < 0) throw ErrnoError(env, err, "setns(CLONE_NEWNET)");
  return env.Undefined();
}

Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "interface name");
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) throw ErrnoError(info.Env(), errno, "if_nametoindex(" + name + ")");
  return Napi::Number::New(info.Env(), idx);
}

Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  uint32_t idx = ArgU32(info, 0, "ifindex");
  char name[IF_NAMESIZE];
  if (if_indextoname(idx, name) == nullptr)
    throw ErrnoError(info.Env(), errno, "if_indextoname(" + std::to_string(idx) + ")");
  return Napi::String::New(info.Env(), name);
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("openNetns", Napi::Function::New<OpenNetns>(env, "openNetns"));
  exports.Set("setns", Napi::Function::New<SetNs>(env, "setns"));
  exports.Set("ifNameToIndex", Napi::Function::New<IfNameToIndex>(env, "ifNameToIndex"));
  exports.Set("ifIndexToName", Napi::Function::New<IfIndexToName>(env, "ifIndexToName"));
}

}  // namespace burrow
