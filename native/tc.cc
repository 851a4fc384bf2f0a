// clsact + cls_bpf through libbpf's bpf_tc_* (the fallback when tcx is unavailable), plus a
// listing of the cls_bpf filters on a hook.
//
// libbpf 1.1 gap: bpf_tc_query() answers for one known (handle, priority) only; there is no way to
// enumerate. tcList() therefore does its own RTM_GETTFILTER dump and reads TCA_BPF_ID/NAME from
// each filter's options.
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common.h"

namespace burrow {

namespace {

enum bpf_tc_attach_point ArgPoint(const Napi::CallbackInfo& info, size_t i) {
  std::string p = ArgString(info, i, "attach point");
  if (p == "ingress") return BPF_TC_INGRESS;
  if (p == "egress") return BPF_TC_EGRESS;
  if (p == "both") return static_cast<enum bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  throw Napi::TypeError::New(info.Env(), "attach point must be 'ingress', 'egress' or 'both'");
}

struct bpf_tc_hook Hook(const Napi::CallbackInfo& info) {
  struct bpf_tc_hook h;
  memset(&h, 0, sizeof(h));
  h.sz = sizeof(h);
  h.ifindex = static_cast<int>(ArgU32(info, 0, "ifindex"));
  h.attach_point = ArgPoint(info, 1);
  return h;
}

struct bpf_tc_opts Opts() {
  struct bpf_tc_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  return o;
}

// tcHookCreate(ifindex, point): adds the clsact qdisc; EEXIST when it is already there.
Napi::Value TcHookCreate(const Napi::CallbackInfo& info) {
  struct bpf_tc_hook h = Hook(info);
  Check(info.Env(), bpf_tc_hook_create(&h), "bpf_tc_hook_create");
  return info.Env().Undefined();
}

// tcHookDestroy(ifindex, 'both'): removes the clsact qdisc and every filter on it.
Napi::Value TcHookDestroy(const Napi::CallbackInfo& info) {
  struct bpf_tc_hook h = Hook(info);
  Check(info.Env(), bpf_tc_hook_destroy(&h), "bpf_tc_hook_destroy");
  return info.Env().Undefined();
}

// tcAttach(ifindex, point, progFd, {handle?, priority?, replace?}) → {handle, priority, progId}
// Handle and priority 0 let the kernel choose; the chosen ones come back.
Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_tc_hook h = Hook(info);
  struct bpf_tc_opts o = Opts();
  o.prog_fd = ArgFd(info, 2, "program fd");
  Napi::Object opts = ArgOptions(info, 3);
  o.handle = OptU32(opts, "handle", 0);
  o.priority = OptU32(opts, "priority", 0);
  if (o.priority > 0xffff) throw Napi::RangeError::New(env, "priority must be at most 65535");
  if (OptBool(opts, "replace", false)) o.flags = BPF_TC_F_REPLACE;
  Check(env, bpf_tc_attach(&h, &o), "bpf_tc_attach");
  Napi::Object r = Napi::Object::New(env);
  r.Set("handle", Napi::Number::New(env, o.handle));
  r.Set("priority", Napi::Number::New(env, o.priority));
  r.Set("progId", Napi::Number::New(env, o.prog_id));
  return r;
}

Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  struct bpf_tc_hook h = Hook(info);
  struct bpf_tc_opts o = Opts();
  o.handle = ArgU32(info, 2, "handle");
  o.priority = ArgU32(info, 3, "priority");
  Check(info.Env(), bpf_tc_detach(&h, &o), "bpf_tc_detach");
  return info.Env().Undefined();
}

// tcQuery(ifindex, point, handle, priority) → progId; ENOENT when there is no such filter.
Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  struct bpf_tc_hook h = Hook(info);
  struct bpf_tc_opts o = Opts();
  o.handle = ArgU32(info, 2, "handle");
  o.priority = ArgU32(info, 3, "priority");
  Check(info.Env(), bpf_tc_query(&h, &o), "bpf_tc_query");
  return Napi::Number::New(info.Env(), o.prog_id);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) close(fd_); }
  int get() const { return fd_; }
 private:
  int fd_;
};

Napi::Object FilterEntry(Napi::Env env, const struct tcmsg* t, int len, bool* is_bpf) {
  Napi::Object e = Napi::Object::New(env);
  e.Set("handle", Napi::Number::New(env, t->tcm_handle));
  e.Set("priority", Napi::Number::New(env, TC_H_MAJ(t->tcm_info) >> 16));
  e.Set("protocol", Napi::Number::New(env, ntohs(static_cast<uint16_t>(TC_H_MIN(t->tcm_info)))));
  *is_bpf = false;
  bool has_id = false;
  for (const struct rtattr* a = reinterpret_cast<const struct rtattr*>(
           reinterpret_cast<const char*>(t) + NLMSG_ALIGN(sizeof(*t)));
       RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == TCA_KIND) {
      *is_bpf = strcmp(static_cast<const char*>(RTA_DATA(a)), "bpf") == 0;
    } else if (a->rta_type == TCA_OPTIONS) {
      int olen = static_cast<int>(RTA_PAYLOAD(a));
      for (const struct rtattr* b = static_cast<const struct rtattr*>(RTA_DATA(a)); RTA_OK(b, olen);
           b = RTA_NEXT(b, olen)) {
        const void* d = RTA_DATA(b);
        if (b->rta_type == TCA_BPF_ID) {
          e.Set("progId", Napi::Number::New(env, *static_cast<const uint32_t*>(d)));
          has_id = true;
        } else if (b->rta_type == TCA_BPF_NAME) {
          e.Set("name", Napi::String::New(env, static_cast<const char*>(d)));
        } else if (b->rta_type == TCA_BPF_FLAGS) {
          bool da = (*static_cast<const uint32_t*>(d) & TCA_BPF_FLAG_ACT_DIRECT) != 0;
          e.Set("directAction", Napi::Boolean::New(env, da));
        }
      }
    }
  }
  // The dump also reports one bare entry per priority (the chain head): no program there.
  *is_bpf = *is_bpf && has_id;
  return e;
}

// tcList(ifindex, 'ingress' | 'egress') → [{handle, priority, protocol, progId, name, directAction}]
Napi::Value TcList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0, "ifindex");
  enum bpf_tc_attach_point point = ArgPoint(info, 1);
  if (point != BPF_TC_INGRESS && point != BPF_TC_EGRESS)
    throw Napi::TypeError::New(env, "tcList lists one of 'ingress' or 'egress'");
  Fd sock(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (sock.get() < 0) throw ErrnoError(env, errno, "socket(NETLINK_ROUTE)");

  struct {
    struct nlmsghdr n;
    struct tcmsg t;
  } req;
  memset(&req, 0, sizeof(req));
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
  req.n.nlmsg_type = RTM_GETTFILTER;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.n.nlmsg_seq = 1;
  req.t.tcm_family = AF_UNSPEC;
  req.t.tcm_ifindex = static_cast<int>(ifindex);
  req.t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, point == BPF_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
  if (send(sock.get(), &req, req.n.nlmsg_len, 0) < 0) throw ErrnoError(env, errno, "send(RTM_GETTFILTER)");

  Napi::Array out = Napi::Array::New(env);
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(sock.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError(env, errno, "recv(RTM_GETTFILTER)");
    }
    int left = static_cast<int>(n);
    for (struct nlmsghdr* h = reinterpret_cast<struct nlmsghdr*>(buf.data()); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return out;
        throw ErrnoError(env, e->error, "netlink RTM_GETTFILTER");
      }
      if (h->nlmsg_type != RTM_NEWTFILTER) continue;
      const struct tcmsg* t = static_cast<const struct tcmsg*>(NLMSG_DATA(h));
      int alen = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(*t)));
      bool is_bpf;
      Napi::Object e = FilterEntry(env, t, alen, &is_bpf);
      if (is_bpf) out.Set(out.Length(), e);
    }
  }
}

}  // namespace

void InitTc(Napi::Env env, Napi::Object exports) {
  exports.Set("tcHookCreate", Napi::Function::New<TcHookCreate>(env, "tcHookCreate"));
  exports.Set("tcHookDestroy", Napi::Function::New<TcHookDestroy>(env, "tcHookDestroy"));
  exports.Set("tcAttach", Napi::Function::New<TcAttach>(env, "tcAttach"));
  exports.Set("tcDetach", Napi::Function::New<TcDetach>(env, "tcDetach"));
  exports.Set("tcQuery", Napi::Function::New<TcQuery>(env, "tcQuery"));
  exports.Set("tcList", Napi::Function::New<TcList>(env, "tcList"));
}

}  // namespace burrow
