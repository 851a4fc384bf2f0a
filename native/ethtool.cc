// What a network device does with segmentation and receive aggregation, read with the ethtool
// ioctl (SIOCETHTOOL) in the calling thread's network namespace: `--decap-hook auto` asks whether
// an uplink carries whole GSO segments (a veth as it comes) or MTU-sized frames that GRO merges
// (a NIC, or a veth set up like one) (docs/datapath.md, "Choosing the decap hook").
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common.h"

namespace burrow {

namespace {

// One legacy ethtool "get value" command (ETHTOOL_GGRO, ETHTOOL_GTSO, ETHTOOL_GGSO): 0 or 1, or -errno.
int EthtoolValue(int sock, const std::string& ifname, uint32_t cmd) {
  struct ethtool_value value = {};
  value.cmd = cmd;
  struct ifreq ifr = {};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (ioctl(sock, SIOCETHTOOL, &ifr) < 0) return -errno;
  return value.data != 0 ? 1 : 0;
}

Napi::Value LinkOffloads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ifname = ArgString(info, 0, "ifname");
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    throw Napi::TypeError::New(env, "ifname: an interface name of 1-15 characters");
  }
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) throw ErrnoError(env, errno, "socket");
  Napi::Object out = Napi::Object::New(env);
  const struct { const char* key; uint32_t cmd; } kQueries[] = {
      {"gro", ETHTOOL_GGRO}, {"tso", ETHTOOL_GTSO}, {"gso", ETHTOOL_GGSO}};
  for (const auto& q : kQueries) {
    int v = EthtoolValue(sock, ifname, q.cmd);
    if (v < 0) {
      close(sock);
      throw ErrnoError(env, -v, std::string("ioctl(SIOCETHTOOL) ") + ifname);
    }
    out.Set(q.key, Napi::Boolean::New(env, v == 1));
  }
  close(sock);
  return out;
}

// setLinkOffloads(ifname, {gro?, tso?}): the legacy "set value" commands (ETHTOOL_SGRO, ETHTOOL_STSO)
// for the tunnel device pair (docs/datapath.md, "VXLAN through the tunnel device's GRO"). The
// kernel may keep a feature the device cannot change; the caller reads the result back.
Napi::Value SetLinkOffloads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ifname = ArgString(info, 0, "ifname");
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    throw Napi::TypeError::New(env, "ifname: an interface name of 1-15 characters");
  }
  if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "offloads: an object {gro?, tso?}");
  Napi::Object want = info[1].As<Napi::Object>();
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) throw ErrnoError(env, errno, "socket");
  const struct { const char* key; uint32_t cmd; } kSets[] = {{"gro", ETHTOOL_SGRO}, {"tso", ETHTOOL_STSO}};
  for (const auto& q : kSets) {
    if (!want.Has(q.key) || want.Get(q.key).IsUndefined()) continue;
    struct ethtool_value value = {};
    value.cmd = q.cmd;
    value.data = want.Get(q.key).ToBoolean().Value() ? 1 : 0;
    struct ifreq ifr = {};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char*>(&value);
    if (ioctl(sock, SIOCETHTOOL, &ifr) < 0) {
      int err = errno;
      close(sock);
      throw ErrnoError(env, err, std::string("ioctl(SIOCETHTOOL) set ") + q.key + " " + ifname);
    }
  }
  close(sock);
  return env.Undefined();
}

}  // namespace

void InitEthtool(Napi::Env env, Napi::Object exports) {
  exports.Set("linkOffloads", Napi::Function::New<LinkOffloads>(env, "linkOffloads"));
  exports.Set("setLinkOffloads", Napi::Function::New<SetLinkOffloads>(env, "setLinkOffloads"));
}

}  // namespace burrow
