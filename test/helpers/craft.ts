// Crafted tunnel packets for the tests that need what no well-behaved sender makes (spoofed
// outer or inner sources, wrong VNIs): IPv4/ICMP echo requests sent as IPIP through a raw socket
// (any outer source) or as VXLAN over UDP, from inside a network namespace, by python3.
import { sh } from '../../src/lab/sh.js';

const CRAFT = String.raw`
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(src, dst, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload
mode, outer_src, outer_dst, inner_src, inner_dst, vni, count = sys.argv[1:8]
# A pod sending VXLAN has its own address as the source; IPIP goes out with outer_src as written.
for seq in range(int(count)):
    icmp = struct.pack('!BBHHH', 8, 0, 0, 0x4242, seq) + b'burrow-spoof-test'
    icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
    inner = ip(inner_src, inner_dst, 1, icmp)
    if mode == 'ipip':
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(ip(outer_src, outer_dst, 4, inner), (outer_dst, 0))
    else:
        eth = bytes.fromhex('66aabbccddee') + bytes.fromhex('020000000001') + b'\x08\x00'
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(struct.pack('!II', 0x08000000, int(vni) << 8) + eth + inner, (outer_dst, 4789))
`;

export interface CraftedTunnel {
  mode: 'ipip' | 'vxlan';
  /** IPIP: the outer source as written (VXLAN goes out from the namespace's own address). */
  outerSrc: string;
  outerDst: string;
  innerSrc: string;
  innerDst: string;
  /** VXLAN only. */
  vni?: number;
  count?: number;
}

/** Sends `p.count` (default 5) crafted echo requests from network namespace `ns`. */
export function sendCrafted(ns: string, p: CraftedTunnel): void {
  sh(['ip', 'netns', 'exec', ns, 'python3', '-c', CRAFT, p.mode, p.outerSrc, p.outerDst, p.innerSrc, p.innerDst, String(p.vni ?? 0), String(p.count ?? 5)]);
}
