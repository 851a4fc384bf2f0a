// burrow_rtnl: rtnetlink dumps as bytes, for src/agent/kernel-routes.ts. A separate addon from
// burrow_native (no libbpf; built from binding.gyp's second target): one request in, the kernel's
// reply messages out, unparsed. The caller builds the request and parses the reply (TS is fast at
// that, and testable without root); this file only owns the socket and the end-of-dump protocol.
//
// Synchronous on purpose: a netlink socket belongs to the network namespace of the thread that
// opens it, so it must run on the JS thread (where withNetns() switches), not on a worker.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace burrow {

namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The kernel's own words (extended ack, NLMSGERR_ATTR_MSG) after an error or a failed
// NLMSG_DONE, when it gave any. `attrs` points just past the fixed part of the message.
std::string ExtAckMessage(const uint8_t* attrs, size_t len) {
  while (len >= sizeof(nlattr)) {
    nlattr a;
    memcpy(&a, attrs, sizeof(a));
    if (a.nla_len < sizeof(nlattr) || a.nla_len > len) break;
    if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = reinterpret_cast<const char*>(attrs + NLA_HDRLEN);
      return std::string(s, strnlen(s, a.nla_len - NLA_HDRLEN));
    }
    size_t step = NLA_ALIGN(a.nla_len);
    if (step >= len) break;
    attrs += step;
    len -= step;
  }
  return "";
}

[[noreturn]] void ThrowNetlink(Napi::Env env, int err, const std::string& op, const std::string& why) {
  Napi::Error e = ErrnoError(env, err, op);
  if (!why.empty()) {
    e.Set("message", Napi::String::New(env, e.Message() + ": " + why));
    e.Set("extack", Napi::String::New(env, why));
  }
  throw e;
}

// rtnlDump(request) → Buffer of every reply message (nlmsghdr included) before NLMSG_DONE.
// `request` is one complete netlink message with NLM_F_DUMP set; its nlmsg_seq is the one the
// replies must carry. The socket asks for strict checking, so the kernel applies the filters the
// request carries (rtm_protocol, rtm_table, ...) and marks replies NLM_F_DUMP_FILTERED; a kernel
// without it (< 4.20) ignores them and the caller must filter itself.
Napi::Value RtnlDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array req = ArgBytes(info, 0, "request");
  nlmsghdr hdr;
  if (req.ByteLength() < sizeof(hdr)) throw Napi::TypeError::New(env, "rtnlDump: the request is shorter than a netlink header");
  memcpy(&hdr, req.Data(), sizeof(hdr));
  if (hdr.nlmsg_len != req.ByteLength() || (hdr.nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP || !(hdr.nlmsg_flags & NLM_F_REQUEST))
    throw Napi::TypeError::New(env, "rtnlDump: the request must be one netlink message with NLM_F_REQUEST|NLM_F_DUMP");

  Socket sock(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (sock.get() < 0) throw ErrnoError(env, errno, "socket(AF_NETLINK, NETLINK_ROUTE)");
  int one = 1;
  // Both are best effort: without them the dump is unfiltered and errors come without a reason.
  setsockopt(sock.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
  setsockopt(sock.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));

  sockaddr_nl kernel;
  memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(sock.get(), req.Data(), req.ByteLength(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw ErrnoError(env, errno, "sendto(netlink)");

  // A dump skb is at most 32 KiB (or one message when a single one is larger): 1 MiB of room
  // per read never truncates (MSG_TRUNC is checked anyway).
  constexpr size_t kRoom = 1 << 20;
  std::vector<uint8_t> buf(kRoom);
  std::vector<uint8_t> out;
  for (bool done = false; !done;) {
    iovec iov = {buf.data(), buf.size()};
    msghdr mh;
    memset(&mh, 0, sizeof(mh));
    sockaddr_nl from;
    mh.msg_name = &from;
    mh.msg_namelen = sizeof(from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = recvmsg(sock.get(), &mh, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError(env, errno, "recvmsg(netlink)");
    if (mh.msg_flags & MSG_TRUNC) throw ErrnoError(env, EMSGSIZE, "recvmsg(netlink)");
    if (n == 0) throw ErrnoError(env, EPIPE, "recvmsg(netlink): the dump ended without NLMSG_DONE");
    if (from.nl_pid != 0) continue;  // not from the kernel

    // This read's messages: data is kept (runs of it copied at once), DONE ends, ERROR throws.
    const uint8_t* p = buf.data();
    size_t left = static_cast<size_t>(n);
    const uint8_t* run = p;  // start of the current run of data messages
    auto flush = [&](const uint8_t* end) {
      out.insert(out.end(), run, end);
    };
    while (left >= sizeof(nlmsghdr)) {
      nlmsghdr m;
      memcpy(&m, p, sizeof(m));
      if (m.nlmsg_len < sizeof(nlmsghdr) || m.nlmsg_len > left)
        throw ErrnoError(env, EBADMSG, "recvmsg(netlink): a truncated message");
      size_t step = NLMSG_ALIGN(m.nlmsg_len) < left ? NLMSG_ALIGN(m.nlmsg_len) : left;
      bool data = m.nlmsg_seq == hdr.nlmsg_seq && m.nlmsg_type != NLMSG_DONE && m.nlmsg_type != NLMSG_ERROR &&
                  m.nlmsg_type != NLMSG_NOOP;
      if (!data) {
        flush(p);
        run = p + step;
      }
      if (m.nlmsg_seq == hdr.nlmsg_seq && (m.nlmsg_type == NLMSG_DONE || m.nlmsg_type == NLMSG_ERROR)) {
        int err = 0;
        if (m.nlmsg_len >= NLMSG_LENGTH(sizeof(int))) memcpy(&err, p + NLMSG_HDRLEN, sizeof(int));
        if (err != 0) {
          std::string why;
          if (m.nlmsg_flags & NLM_F_ACK_TLVS) {
            // DONE: int error, then TLVs. ERROR: struct nlmsgerr (followed by the request's
            // payload unless NLM_F_CAPPED), then TLVs.
            size_t fixed = NLMSG_HDRLEN + sizeof(int);
            if (m.nlmsg_type == NLMSG_ERROR) {
              fixed = NLMSG_HDRLEN + sizeof(nlmsgerr);
              if (!(m.nlmsg_flags & NLM_F_CAPPED)) fixed += NLMSG_ALIGN(hdr.nlmsg_len) - NLMSG_HDRLEN;
            }
            if (m.nlmsg_len > fixed) why = ExtAckMessage(p + fixed, m.nlmsg_len - fixed);
          }
          ThrowNetlink(env, err, m.nlmsg_type == NLMSG_DONE ? "netlink dump" : "netlink request", why);
        }
        // DONE ends the dump; an ERROR with 0 is an ack, which a dump does not send: harmless.
        if (m.nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
      }
      p += step;
      left -= step;
    }
    if (!done) flush(p);
  }
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

}  // namespace

void InitRtnl(Napi::Env env, Napi::Object exports) {
  exports.Set("rtnlDump", Napi::Function::New<RtnlDump>(env, "rtnlDump"));
}

}  // namespace burrow

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  burrow::InitRtnl(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(burrow_rtnl, Init)
