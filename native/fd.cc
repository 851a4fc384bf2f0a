// Object fds in general: pin to bpffs, open a pin, open by id, close. Shared by maps, programs
// and links, which the kernel pins and opens identically.
#include <bpf/bpf.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

#include "common.h"

namespace burrow {

namespace {

Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  std::string path = ArgString(info, 1, "pin path");
  Check(info.Env(), bpf_obj_pin(fd, path.c_str()), "bpf_obj_pin(" + path + ")");
  return info.Env().Undefined();
}

// objGet(path) → fd of the pinned map, program or link
Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "pin path");
  int fd = bpf_obj_get(path.c_str());
  return Napi::Number::New(info.Env(), Check(info.Env(), fd, "bpf_obj_get(" + path + ")"));
}

// fdById('map' | 'prog' | 'link', id) → fd
Napi::Value FdById(const Napi::CallbackInfo& info) {
  std::string kind = ArgString(info, 0, "kind");
  uint32_t id = ArgU32(info, 1, "id");
  int fd;
  if (kind == "map") fd = bpf_map_get_fd_by_id(id);
  else if (kind == "prog") fd = bpf_prog_get_fd_by_id(id);
  else if (kind == "link") fd = bpf_link_get_fd_by_id(id);
  else throw Napi::TypeError::New(info.Env(), "kind must be 'map', 'prog' or 'link'");
  return Napi::Number::New(info.Env(), Check(info.Env(), fd, "bpf_" + kind + "_get_fd_by_id"));
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  if (close(fd) < 0) throw ErrnoError(info.Env(), errno, "close");
  return info.Env().Undefined();
}

// flockExclusive(fd) → true when this fd now holds flock(LOCK_EX), false when another open file
// description holds it (EWOULDBLOCK). Never blocks. The kernel drops the lock when the last fd of
// that description closes: at exit, or a crash (src/agent/pin-root.ts locks pin roots with it).
Napi::Value FlockExclusive(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  throw ErrnoError(info.Env(), errno, "flock");
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("objPin", Napi::Function::New<ObjPin>(env, "objPin"));
  exports.Set("objGet", Napi::Function::New<ObjGet>(env, "objGet"));
  exports.Set("fdById", Napi::Function::New<FdById>(env, "fdById"));
  exports.Set("closeFd", Napi::Function::New<CloseFd>(env, "closeFd"));
  exports.Set("flockExclusive", Napi::Function::New<FlockExclusive>(env, "flockExclusive"));
}

}  // namespace burrow
