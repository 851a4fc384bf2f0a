// Crafted packets for the tests that need what no well-behaved sender makes, sent from inside a
// network namespace by python3: tunnel packets with spoofed outer or inner sources or wrong VNIs
// (IPv4/ICMP echo requests as IPIP through a raw socket, any outer source, or as VXLAN over UDP),
// and ICMP frag-needed quoting a tunnel packet someone may or may not have sent.
import { sh } from '../../src/lab/sh.js';

/** The Internet checksum, for both scripts. */
const PRELUDE = String.raw`
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
`;

const CRAFT = PRELUDE + String.raw`
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

const FRAG_NEEDED = PRELUDE + String.raw`
to, qsrc, qdst, mtu, proto = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
q = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 1500, 0, 0x4000, 63, proto, 0, socket.inet_aton(qsrc), socket.inet_aton(qdst))
q = q[:10] + struct.pack('!H', csum(q)) + q[12:] + (struct.pack('!HHHH', 40000, 4789, 1480, 0) if proto == 17 else b'\x45\x00\x05\xc8\x00\x00\x40\x00')
icmp = struct.pack('!BBHHH', 3, 4, 0, 0, mtu) + q
icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).sendto(icmp, (to, 0))
`;

/** From `ns`, an ICMP frag-needed to `to` naming `mtu`, quoting a 1500-byte DF tunnel packet qsrc → qdst (IPIP, or VXLAN to 4789). */
export function sendFragNeeded(ns: string, to: string, qsrc: string, qdst: string, mtu: number, mode: 'ipip' | 'vxlan'): void {
  sh(['ip', 'netns', 'exec', ns, 'python3', '-c', FRAG_NEEDED, to, qsrc, qdst, String(mtu), mode === 'ipip' ? '4' : '17']);
}
