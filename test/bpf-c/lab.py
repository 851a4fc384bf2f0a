#!/usr/bin/env python3
"""Developer check with real traffic: two nodes with one pod each, joined by veth in scratch
network namespaces, the compiled programs attached with tc clsact and XDP, then ping, a TCP
stream with a content check (GSO packets) and iperf3 from pod A to pod B. Not the project's test
suite (test/e2e is); see run.py for the single-frame checks.

usage (root, after `make -s -C bpf`):
  python3 test/bpf-c/lab.py [--mode ipip|vxlan] [--encap egress|ingress|xdp] [--decap tc|xdp]

  --encap egress   tc_encap on TC egress of a tunnel device (veth, ARP off) the pod routes use
  --encap ingress  tc_encap on TC ingress of the pod's host-side veth
  --encap xdp      xdp_encap on the pod's host-side veth, with the egress path as its fallback

Each node loads its objects in its own private mount namespace with its own bpffs, so the maps
pinned by name are per node, as with the agent's per-node pin roots. The namespaces are named
burrow-dev-<pid>-*, and deleted on exit, failure included.
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import OBJ, STATS, hexargs, ip4  # noqa: E402

NODES = {
    "a": dict(ip="10.0.1.10", pod="10.244.1.2", block="10.244.1.0", vtep="66aabbccdd0a"),
    "b": dict(ip="10.0.1.11", pod="10.244.2.2", block="10.244.2.0", vtep="66aabbccdd0b"),
}
VNI = 4096


def sh(*args, check=True, ns=None):
    if ns:
        args = ("ip", "netns", "exec", ns) + args
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


TX_CSUM_OFF = """
import ctypes, fcntl, socket, struct
value = ctypes.create_string_buffer(struct.pack("II", 0x17, 0))   # ETHTOOL_STXCSUM, off
fcntl.ioctl(socket.socket(), 0x8946, struct.pack("16sP", b"eth0", ctypes.addressof(value)))
"""


def build(tag, mode, encap):
    mtu = 1480 if mode == "ipip" else 1450
    for n in NODES:
        for ns in (f"{tag}-{n}", f"{tag}-p{n}"):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "uplink", "netns", f"{tag}-a", "type", "veth", "peer", "name",
       "uplink", "netns", f"{tag}-b")
    for n, node in NODES.items():
        ns, pod = f"{tag}-{n}", f"{tag}-p{n}"
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
           "net.ipv4.conf.default.rp_filter=0", ns=ns)
        sh("ip", "-n", ns, "addr", "add", node["ip"] + "/24", "dev", "uplink")
        sh("ip", "-n", ns, "link", "set", "uplink", "up")
        sh("ip", "link", "add", "pod0", "netns", ns, "mtu", str(mtu), "type", "veth", "peer",
           "name", "eth0", "netns", pod, "mtu", str(mtu))
        sh("ip", "-n", ns, "link", "set", "pod0", "up")
        sh("ip", "-n", ns, "route", "add", node["pod"] + "/32", "dev", "pod0")
        sh("ip", "-n", pod, "addr", "add", node["pod"] + "/32", "dev", "eth0")
        sh("ip", "-n", pod, "link", "set", "eth0", "up")
        sh("ip", "-n", pod, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
        sh("ip", "-n", pod, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
        # Calico answers with proxy ARP; the node has no route to 169.254.1.1 here, so pin it.
        mac = json.loads(sh("ip", "-n", ns, "-j", "link", "show", "pod0"))[0]["address"]
        sh("ip", "-n", pod, "neigh", "add", "169.254.1.1", "lladdr", mac, "dev", "eth0", "nud",
           "permanent")
        if encap in ("egress", "xdp"):
            # The tunnel device: ARP off, only its TC egress matters.
            sh("ip", "-n", ns, "link", "add", "tun0", "type", "veth", "peer", "name", "tun0p")
            sh("ip", "-n", ns, "link", "set", "tun0", "arp", "off", "up")
            sh("ip", "-n", ns, "link", "set", "tun0p", "up")
        if encap == "xdp":
            # XDP frames carry no checksum state: a CHECKSUM_PARTIAL packet from the pod's stack
            # would leave with its TCP checksum unfinished. Pods behind xdp_encap must not
            # offload transmit checksums (ethtool -K eth0 tx off; ethtool is not installed here).
            sh(sys.executable, "-c", TX_CSUM_OFF, ns=pod)
    for n, node in NODES.items():
        other = NODES["b" if n == "a" else "a"]
        if encap in ("egress", "xdp"):
            sh("ip", "-n", f"{tag}-{n}", "route", "add", other["block"] + "/24", "dev", "tun0",
               "mtu", str(mtu))


def load_node(tag, n, mode, encap, decap):
    """Loads, fills the maps and attaches in a private mount namespace; returns the stats map id."""
    node, other = NODES[n], NODES["b" if n == "a" else "a"]
    ns = f"{tag}-{n}"
    uplink = json.loads(sh("ip", "-n", ns, "-j", "link", "show", "uplink"))[0]["ifindex"]
    cfg = struct.pack("<4sI6s6sHBBIHHI", ip4(node["ip"]), uplink, bytes(6),
                      bytes.fromhex(node["vtep"]), 4789, 0, 0, VNI, 1500, 0, 0)
    route = struct.pack("<BBH4sI6sH", 1 if mode == "ipip" else 2, 0, 0, ip4(other["ip"]), 0,
                        bytes.fromhex(other["vtep"]), 0)
    peer = struct.pack("<B3xI", 3, VNI)
    pin = "/sys/fs/bpf"
    netns = ["nsenter", f"--net=/run/netns/{ns}"]
    cmds = [["mount", "-t", "bpf", "bpf", pin]]
    for prog, typ in (("tc_encap", "tc"), ("tc_decap", "tc"), ("xdp_encap", "xdp"),
                      ("xdp_decap", "xdp")):
        cmds.append(["bpftool", "prog", "loadall", f"{OBJ}/{prog}.bpf.o", f"{pin}/{prog}",
                     "type", typ])
    cmds += [
        ["bpftool", "map", "update", "pinned", f"{pin}/config", "key", *hexargs(bytes(4)),
         "value", *hexargs(cfg)],
        ["bpftool", "map", "update", "pinned", f"{pin}/routes", "key",
         *hexargs(struct.pack("<I4s", 24, ip4(other["block"]))), "value", *hexargs(route)],
        ["bpftool", "map", "update", "pinned", f"{pin}/peers", "key", *hexargs(ip4(other["ip"])),
         "value", *hexargs(peer)],
    ]
    if decap == "tc":
        cmds += [netns + ["tc", "qdisc", "add", "dev", "uplink", "clsact"],
                 netns + ["tc", "filter", "add", "dev", "uplink", "ingress", "bpf", "object-pinned",
                          f"{pin}/tc_decap/tc_decap", "direct-action"]]
    if decap == "xdp":
        cmds.append(netns + ["ip", "link", "set", "dev", "uplink", "xdpdrv", "pinned",
                             f"{pin}/xdp_decap/xdp_decap"])
    elif encap == "xdp":
        # veth's ndo_xdp_xmit needs NAPI on the receiving peer, which an XDP program gives it
        # (no ethtool here to turn GRO on instead).
        cmds.append(netns + ["ip", "link", "set", "dev", "uplink", "xdpdrv", "obj",
                             f"{OBJ}/noop.bpf.o", "sec", "xdp"])
    if encap in ("egress", "xdp"):
        cmds += [netns + ["tc", "qdisc", "add", "dev", "tun0", "clsact"],
                 netns + ["tc", "filter", "add", "dev", "tun0", "egress", "bpf", "object-pinned",
                          f"{pin}/tc_encap/tc_encap", "direct-action"]]
    if encap == "ingress":
        cmds += [netns + ["tc", "qdisc", "add", "dev", "pod0", "clsact"],
                 netns + ["tc", "filter", "add", "dev", "pod0", "ingress", "bpf", "object-pinned",
                          f"{pin}/tc_encap/tc_encap", "direct-action"]]
    if encap == "xdp":
        cmds.append(netns + ["ip", "link", "set", "dev", "pod0", "xdpdrv", "pinned",
                             f"{pin}/xdp_encap/xdp_encap"])
    cmds.append(["bpftool", "-j", "map", "show", "pinned", f"{pin}/stats"])
    script = "set -e\n" + "\n".join(" ".join(c) for c in cmds)
    out = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"loading node {n}: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])["id"]


def stats(map_id):
    out = json.loads(sh("bpftool", "-j", "map", "dump", "id", str(map_id)))
    res = {}
    for e in out:
        idx = int.from_bytes(bytes(int(x, 16) for x in e["key"]), "little")
        pk = sum(struct.unpack("<QQ", bytes(int(x, 16) for x in c["value"]))[0] for c in e["values"])
        if pk:
            res[STATS[idx]] = pk
    return res


SERVER = """
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
"""


def traffic(tag, dst):
    results = {}
    ping = subprocess.run(["ip", "netns", "exec", f"{tag}-pa", "ping", "-c", "5", "-i", "0.2",
                           "-W", "2", dst], capture_output=True, text=True)
    results["ping"] = ping.returncode == 0
    print("  ping:", ping.stdout.strip().splitlines()[-2] if ping.stdout.strip() else ping.stderr)

    data = os.urandom(16 << 20)
    server = subprocess.Popen(["ip", "netns", "exec", f"{tag}-pb", sys.executable, "-c", SERVER],
                              stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        client = subprocess.run(
            ["ip", "netns", "exec", f"{tag}-pa", sys.executable, "-c",
             f"import socket,sys; s=socket.create_connection(('{dst}',5001),timeout=10);"
             "s.sendall(sys.stdin.buffer.read()); s.close()"], input=data, capture_output=True,
            timeout=30)
        line = server.communicate(timeout=15)[0].strip()
    finally:
        if server.poll() is None:
            server.kill()
    want = f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    results["tcp content"] = client.returncode == 0 and line == want
    print(f"  tcp 16 MiB content: {'same sha256' if results['tcp content'] else 'MISMATCH ' + line}")

    iperf = subprocess.Popen(["ip", "netns", "exec", f"{tag}-pb", "iperf3", "-s", "-1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = subprocess.run(["ip", "netns", "exec", f"{tag}-pa", "iperf3", "-c", dst, "-t", "3",
                              "-J"], capture_output=True, text=True, timeout=30)
        bps = json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]
        results["iperf3"] = bps > 0
        print(f"  iperf3: {bps / 1e9:.2f} Gbit/s")
    finally:
        if iperf.poll() is None:
            iperf.kill()
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["ipip", "vxlan"], default="ipip")
    ap.add_argument("--encap", choices=["egress", "ingress", "xdp"], default="egress")
    ap.add_argument("--decap", choices=["tc", "xdp"], default="tc")
    args = ap.parse_args()
    if os.environ.get("BURROW_DEV_NS") != "1":
        os.environ["BURROW_DEV_NS"] = "1"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable]
                  + sys.argv)
    tag = f"burrow-dev-{os.getpid()}"
    print(f"lab {tag}: mode {args.mode}, encap {args.encap}, decap {args.decap}")
    ok = False
    try:
        build(tag, args.mode, args.encap)
        ids = {n: load_node(tag, n, args.mode, args.encap, args.decap) for n in NODES}
        try:
            res = traffic(tag, NODES["b"]["pod"])
        except (subprocess.TimeoutExpired, RuntimeError, ValueError, KeyError) as e:
            print(f"  traffic failed: {e}".splitlines()[0])
            res = {"traffic": False}
        counters = {n: stats(i) for n, i in ids.items()}
        for n, c in counters.items():
            print(f"  node {n} counters: {c}")
        if not all(res.values()) and os.environ.get("BURROW_LAB_DEBUG"):
            for ns in (f"{tag}-a", f"{tag}-b"):
                print(ns, sh("ip", "-s", "link", ns=ns), sh("ip", "neigh", ns=ns),
                      sh("ip", "route", ns=ns), sh("nstat", "-az", ns=ns, check=False))
        m = args.mode.upper()
        enc, dec = f"ENCAP_{m}", f"DECAP_{m}"
        moved = all(c.get(enc, 0) > 0 and c.get(dec, 0) > 0 for c in counters.values())
        drops = {n: {k: v for k, v in c.items() if k.startswith("DROP")} for n, c in counters.items()}
        ok = all(res.values()) and moved and not any(drops.values())
        if not moved:
            print(f"  FAIL: {enc}/{dec} did not move on both nodes")
        if any(drops.values()):
            print(f"  FAIL: drops {drops}")
    finally:
        for n in NODES:
            for ns in (f"{tag}-p{n}", f"{tag}-{n}"):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
