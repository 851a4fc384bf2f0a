/**
 * The packets the per-program and packet-rate benchmarks feed, and the map entries that make the
 * programs take their full encap/decap path on them.
 *
 * Live-frame test runs (BPF_F_TEST_XDP_LIVE_FRAMES) copy the input frame into a page once per
 * page and call; a recycled page gets its data *pointers* reset, not its bytes. A program that
 * rewrites bytes in place would therefore see its own output again on most repetitions (measured:
 * 64 of 1,000,000 xdp_decap runs decapsulated, the rest were "not ours"). So every frame here is a
 * fixed point of the program it feeds: the bytes the program writes equal the bytes already there.
 *
 *   VXLAN decap   writes the outer Ethernet header over the inner one (offset 50): inner = outer.
 *   IPIP decap    writes the outer Ethernet header at offset 20, over outer IPv4 bytes 6–19
 *                 (flags, TTL, protocol, checksum, addresses): the MACs are chosen to spell them
 *                 (dst 40:00:40:04:<checksum> = DF, TTL 64, protocol 4; src = source address +
 *                 the first half of the destination; EtherType 08 00 = its second half, so the
 *                 node address is a.b.8.0).
 *   IPIP encap    writes outer IPv4 bytes 6–19 over the inner frame's Ethernet header: only its
 *                 EtherType matters to the program, and it is the remote's last half, 8.0.
 *   VXLAN encap   writes the inner Ethernet header (route VTEP MAC, our VTEP MAC, 08 00) over
 *                 the original one.
 * Every run is checked afterwards: the program's encap or decap counter moved once per run.
 */
import { buildIpipFrame, buildUdpFrame, buildVxlanFrame, packetOf } from '../src/codec/index.js';
import { BurrowMode, BurrowPeerMode, BurrowRouteFlag, type BurrowConfig, type BurrowPeer, type BurrowRoute, type BurrowRouteKey } from '../src/bpf/index.js';

/** The sending node (outer source of tunnel packets) and the receiving node (a.b.8.0, see above). */
export const PEER_IP = '10.0.1.10';
export const LOCAL_IP = '10.1.8.0';
export const VNI = 4096;
export const VXLAN_PORT = 4789;
/** Source MAC of tunnel frames: PEER_IP's bytes, then LOCAL_IP's first two. */
export const SENDER_MAC = '0a:00:01:0a:0a:01';

/** Encap side: the node itself (on the DUT device), and a remote at a.b.8.0. */
export const ENCAP_LOCAL_IP = '10.2.0.1';
export const ENCAP_REMOTE_IP = '10.2.8.0';
export const ENCAP_REMOTE_MAC = '02:00:00:00:08:00';
export const REMOTE_VTEP_MAC = '66:00:00:00:08:00';
export const LOCAL_VTEP_MAC = '66:00:00:00:01:01';
export const POD_SRC = '192.168.0.2';
export const POD_DST = { ipip: '192.168.1.2', vxlan: '192.168.2.2' } as const;
export const POD_BLOCK = { ipip: '192.168.1.0', vxlan: '192.168.2.0' } as const;

export type TunnelMode = 'ipip' | 'vxlan';

/** Inner packet: UDP with 18 payload bytes, DF (so the outer ID is 0 and constant). 60-byte frame. */
export function innerFrame(dst: string, ethDst: string, ethSrc = '02:00:00:00:00:01'): Uint8Array {
  return buildUdpFrame({ src: POD_SRC, dst, sport: 40000, dport: 5201, ttl: 64, df: true, ethDst, ethSrc, payload: new Uint8Array(18) });
}

function ipipChecksum(inner: Uint8Array): number {
  const probe = buildIpipFrame({ src: PEER_IP, dst: LOCAL_IP, ttl: 64, df: true, id: 0, inner });
  return (probe[24]! << 8) | probe[25]!;
}

/** The receiving device's MAC, spelling DF, TTL 64, protocol 4 and the outer checksum. */
export function decapDeviceMac(): string {
  const cs = ipipChecksum(packetOf(innerFrame(POD_DST.ipip, '00:00:00:00:00:00')));
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `40:00:40:04:${hex(cs >> 8)}:${hex(cs & 0xff)}`;
}

/** A tunnel frame from PEER_IP to LOCAL_IP that decapsulates in place to the same bytes. */
export function decapFrame(mode: TunnelMode): Uint8Array {
  const dmac = decapDeviceMac();
  const inner = packetOf(innerFrame(POD_DST[mode], dmac, SENDER_MAC));
  const outer = { src: PEER_IP, dst: LOCAL_IP, ttl: 64, df: true, id: 0, ethDst: dmac, ethSrc: SENDER_MAC, inner };
  const frame = mode === 'ipip' ? buildIpipFrame(outer) : buildVxlanFrame({ ...outer, sport: 50000, vni: VNI, innerEthDst: dmac, innerEthSrc: SENDER_MAC });
  if (mode === 'ipip' && !frame.subarray(0, 14).every((b, i) => b === frame[20 + i])) {
    throw new Error('bench frames: the IPIP frame is not a fixed point of decapsulation (outer bytes 6-19 != Ethernet header)');
  }
  return frame;
}

/** A pod packet for the encap programs (Ethernet destination: the device it arrives on). */
export function encapFrame(mode: TunnelMode, deviceMac: string): Uint8Array {
  return innerFrame(POD_DST[mode], deviceMac);
}

export function decapConfig(): BurrowConfig {
  return {
    local_ip: LOCAL_IP, uplink_ifindex: 0, uplink_mac: decapDeviceMac(), vtep_mac: LOCAL_VTEP_MAC,
    vxlan_port: VXLAN_PORT, ttl: 64, default_vni: VNI, uplink_mtu: 1500, flags: 0, mss_ipip: 0, mss_vxlan: 0, gro_ifindex: 0, tunnel_mac: '00:00:00:00:00:00',
  };
}

/**
 * Decap's `routes` (docs/datapath.md decap step 12): the pool, the sending peer's block holding
 * POD_SRC (the inner source is the peer's), and this node's blocks holding POD_DST. Without them
 * every frame is a forgery (DROP_SPOOFED) or a relay (DROP_OUTSIDE_POOL), not a decapsulation.
 */
export function decapRoutes(): [BurrowRouteKey, BurrowRoute][] {
  const route = (mode: 'none' | 'ipip', flags: number, remote: string): BurrowRoute => ({
    mode: BurrowMode[mode], flags, pool: 0, remote, vni: 0, vtep_mac: '00:00:00:00:00:00',
  });
  return [
    [{ prefixlen: 16, addr: '192.168.0.0' }, route('none', BurrowRouteFlag.in_pool, '0.0.0.0')],
    [{ prefixlen: 26, addr: '192.168.0.0' }, route('ipip', BurrowRouteFlag.in_pool, PEER_IP)],
    [{ prefixlen: 26, addr: POD_BLOCK.ipip }, route('none', BurrowRouteFlag.in_pool | BurrowRouteFlag.local, LOCAL_IP)],
    [{ prefixlen: 26, addr: POD_BLOCK.vxlan }, route('none', BurrowRouteFlag.in_pool | BurrowRouteFlag.local, LOCAL_IP)],
  ];
}

export const decapPeer: [string, BurrowPeer] = [PEER_IP, { modes: BurrowPeerMode.ipip | BurrowPeerMode.vxlan, vni: VNI }];

export function encapConfig(uplinkIfindex: number, uplinkMac: string): BurrowConfig {
  return {
    local_ip: ENCAP_LOCAL_IP, uplink_ifindex: uplinkIfindex, uplink_mac: uplinkMac, vtep_mac: LOCAL_VTEP_MAC,
    vxlan_port: VXLAN_PORT, ttl: 64, default_vni: VNI, uplink_mtu: 1500, flags: 0, mss_ipip: 0, mss_vxlan: 0, gro_ifindex: 0, tunnel_mac: '00:00:00:00:00:00',
  };
}

export function encapRoutes(): [BurrowRouteKey, BurrowRoute][] {
  const route = (mode: 'ipip' | 'vxlan'): BurrowRoute => ({
    mode: BurrowMode[mode], flags: BurrowRouteFlag.in_pool, pool: 0, remote: ENCAP_REMOTE_IP, vni: mode === 'vxlan' ? VNI : 0, vtep_mac: REMOTE_VTEP_MAC,
  });
  return [
    [{ prefixlen: 26, addr: POD_BLOCK.ipip }, route('ipip')],
    [{ prefixlen: 26, addr: POD_BLOCK.vxlan }, route('vxlan')],
  ];
}
