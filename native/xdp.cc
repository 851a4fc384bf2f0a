// XDP through netlink (bpf_xdp_attach/detach/query): the fallback when an XDP bpf_link cannot be
// created, and the only way to see what is attached (a link-attached program shows up here too).
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cstring>

#include "common.h"

namespace burrow {

namespace {

// xdpAttach(ifindex, progFd, flags, oldProgFd?) — with oldProgFd, replaces exactly that program.
Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  int prog_fd = ArgFd(info, 1, "program fd");
  uint32_t flags = ArgU32(info, 2, "flags");
  struct bpf_xdp_attach_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  if (!IsAbsent(info[3])) {
    o.old_prog_fd = ArgFd(info, 3, "old program fd");
    flags |= XDP_FLAGS_REPLACE;
  }
  Check(env, bpf_xdp_attach(static_cast<int>(ifindex), prog_fd, flags, &o), "bpf_xdp_attach");
  return env.Undefined();
}

// xdpDetach(ifindex, flags, expectedProgFd?) — with expectedProgFd, fails (EEXIST) when another
// program has replaced ours meanwhile instead of detaching it.
Napi::Value XdpDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  uint32_t flags = ArgU32(info, 1, "flags");
  struct bpf_xdp_attach_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  if (!IsAbsent(info[2])) {
    o.old_prog_fd = ArgFd(info, 2, "expected program fd");
    flags |= XDP_FLAGS_REPLACE;
  }
  Check(env, bpf_xdp_detach(static_cast<int>(ifindex), flags, &o), "bpf_xdp_detach");
  return env.Undefined();
}

// xdpQuery(ifindex) → {progId, drvProgId, skbProgId, hwProgId, mode}; mode is XDP_ATTACHED_*.
Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  struct bpf_xdp_query_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  Check(env, bpf_xdp_query(static_cast<int>(ifindex), 0, &o), "bpf_xdp_query");
  Napi::Object r = Napi::Object::New(env);
  r.Set("progId", Napi::Number::New(env, o.prog_id));
  r.Set("drvProgId", Napi::Number::New(env, o.drv_prog_id));
  r.Set("skbProgId", Napi::Number::New(env, o.skb_prog_id));
  r.Set("hwProgId", Napi::Number::New(env, o.hw_prog_id));
  r.Set("mode", Napi::Number::New(env, o.attach_mode));
  return r;
}

}  // namespace

void InitXdp(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpAttach", Napi::Function::New<XdpAttach>(env, "xdpAttach"));
  exports.Set("xdpDetach", Napi::Function::New<XdpDetach>(env, "xdpDetach"));
  exports.Set("xdpQuery", Napi::Function::New<XdpQuery>(env, "xdpQuery"));
}

}  // namespace burrow
