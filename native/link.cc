// bpf_link creation, detach, info, and the tcx query.
//
// libbpf 1.1 / linux-libc-dev 6.1 gaps worked around here:
// - No tcx: BPF_TCX_INGRESS/EGRESS (46/47), BPF_LINK_TYPE_TCX (11) and the tcx members of
//   union bpf_attr are missing. bpf_link_create() passes unknown attach types through when its
//   opts are zero past `flags`; the kernel's link_create.tcx {relative_fd, expected_revision}
//   shares the union with the members libbpf zeroes, so an all-zero tcx part means "append",
//   which is what we want. Checked on 6.18: the link attaches and shows up in the tcx query.
// - bpf_prog_query_opts() in 1.1 has no link_ids/revision and names target_fd what tcx calls
//   target_ifindex, so the tcx query is a raw BPF_PROG_QUERY with the 6.6 layout below.
// - struct bpf_link_info has no tcx member; its xdp member sits at the same place and tcx adds
//   attach_type right after ifindex, so both are read from there.
#include <bpf/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common.h"

#ifndef BPF_LINK_TYPE_TCX
#define BPF_LINK_TYPE_TCX 11
#endif

namespace burrow {

namespace {

// BPF_PROG_QUERY's part of union bpf_attr as of Linux 6.6 (include/uapi/linux/bpf.h).
struct ProgQueryAttr {
  uint32_t target_ifindex;
  uint32_t attach_type;
  uint32_t query_flags;
  uint32_t attach_flags;
  uint64_t prog_ids;
  uint32_t count;
  uint32_t pad;
  uint64_t prog_attach_flags;
  uint64_t link_ids;
  uint64_t link_attach_flags;
  uint64_t revision;
};

// linkCreate(progFd, targetFdOrIfindex, attachType, flags) → link fd
Napi::Value LinkCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int prog_fd = ArgFd(info, 0, "program fd");
  uint32_t target = ArgU32(info, 1, "target (ifindex)");
  uint32_t attach_type = ArgU32(info, 2, "attach type");
  uint32_t flags = ArgU32(info, 3, "flags");
  struct bpf_link_create_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  o.flags = flags;
  int fd = bpf_link_create(prog_fd, static_cast<int>(target), static_cast<enum bpf_attach_type>(attach_type), &o);
  return Napi::Number::New(env, Check(env, fd, "bpf_link_create"));
}

// linkUpdate(linkFd, newProgFd, oldProgFd?) — BPF_LINK_UPDATE: the link runs newProgFd from now
// on, in one step (no moment without a program; docs/operations.md, "Upgrades"). With oldProgFd
// (BPF_F_REPLACE), the kernel refuses (EPERM) when the link no longer runs that program.
Napi::Value LinkUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int link_fd = ArgFd(info, 0, "link fd");
  int prog_fd = ArgFd(info, 1, "program fd");
  struct bpf_link_update_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  if (!IsAbsent(info[2])) {
    o.old_prog_fd = ArgFd(info, 2, "old program fd");
    o.flags = BPF_F_REPLACE;
  }
  Check(env, bpf_link_update(link_fd, prog_fd, &o), "bpf_link_update");
  return env.Undefined();
}

Napi::Value LinkDetach(const Napi::CallbackInfo& info) {
  Check(info.Env(), bpf_link_detach(ArgFd(info, 0, "link fd")), "bpf_link_detach");
  return info.Env().Undefined();
}

// linkInfo(fd) → {type, id, progId, ifindex?, attachType?}
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_link_info li;
  memset(&li, 0, sizeof(li));
  uint32_t len = sizeof(li);
  Check(env, bpf_obj_get_info_by_fd(ArgFd(info, 0, "link fd"), &li, &len), "bpf_obj_get_info_by_fd");
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", Napi::Number::New(env, li.type));
  o.Set("id", Napi::Number::New(env, li.id));
  o.Set("progId", Napi::Number::New(env, li.prog_id));
  uint32_t words[2];
  memcpy(words, &li.xdp, sizeof(words));
  if (li.type == BPF_LINK_TYPE_XDP || li.type == BPF_LINK_TYPE_TCX) o.Set("ifindex", Napi::Number::New(env, words[0]));
  if (li.type == BPF_LINK_TYPE_TCX) o.Set("attachType", Napi::Number::New(env, words[1]));
  return o;
}

// progQuery(ifindex, attachType) → {progIds, linkIds, revision}, for tcx attach points.
Napi::Value ProgQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  uint32_t attach_type = ArgU32(info, 1, "attach type");
  std::vector<uint32_t> progs(16), links(16);
  ProgQueryAttr a;
  for (;;) {
    memset(&a, 0, sizeof(a));
    a.target_ifindex = ifindex;
    a.attach_type = attach_type;
    a.prog_ids = reinterpret_cast<uint64_t>(progs.data());
    a.link_ids = reinterpret_cast<uint64_t>(links.data());
    a.count = static_cast<uint32_t>(progs.size());
    long ret = syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof(a));
    if (ret == 0) break;
    // ENOSPC: more programs than room; the kernel has put the real count in a.count.
    if (errno != ENOSPC || a.count <= progs.size()) throw ErrnoError(env, errno, "bpf(BPF_PROG_QUERY)");
    progs.resize(a.count);
    links.resize(a.count);
  }
  Napi::Array p = Napi::Array::New(env, a.count), l = Napi::Array::New(env, a.count);
  for (uint32_t i = 0; i < a.count; i++) {
    p.Set(i, Napi::Number::New(env, progs[i]));
    l.Set(i, Napi::Number::New(env, links[i]));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("progIds", p);
  o.Set("linkIds", l);
  o.Set("revision", Napi::Number::New(env, static_cast<double>(a.revision)));
  return o;
}

}  // namespace

void InitLink(Napi::Env env, Napi::Object exports) {
  exports.Set("linkCreate", Napi::Function::New<LinkCreate>(env, "linkCreate"));
  exports.Set("linkDetach", Napi::Function::New<LinkDetach>(env, "linkDetach"));
  exports.Set("linkUpdate", Napi::Function::New<LinkUpdate>(env, "linkUpdate"));
  exports.Set("linkInfo", Napi::Function::New<LinkInfo>(env, "linkInfo"));
  exports.Set("progQuery", Napi::Function::New<ProgQuery>(env, "progQuery"));
}

}  // namespace burrow
