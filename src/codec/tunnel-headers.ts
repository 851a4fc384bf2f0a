// The headers encapsulation puts in front of the inner packet (docs/datapath.md, "Outer IPv4"
// and "UDP + VXLAN"): outer IPv4, and for VXLAN also UDP, VXLAN and the inner Ethernet header.
import { ipv4ToBytes, macToBytes, writeU16 } from './address.js';
import { internetChecksum } from './checksum.js';
import { ETH_HLEN, ETH_P_IP } from './ethernet.js';
import { IPPROTO_IPIP, IPPROTO_UDP, IPV4_MIN_HLEN, type Ipv4Header } from './ipv4.js';
import { effectiveTtl, effectiveVni, tunnelOverhead, type NodeConfig, type PeerMode, type TunnelRoute } from './model.js';
import { vxlanSourcePort } from './source-port.js';
import { UDP_HLEN } from './udp.js';
import { writeVxlan } from './vxlan.js';

export interface TunnelHeaderInput {
  /** The whole input frame (Ethernet + inner IPv4 …): lengths and the port hash come from it. */
  readonly frame: Uint8Array;
  /** Its parsed inner IPv4 header. */
  readonly inner: Ipv4Header;
  readonly mode: PeerMode;
  readonly route: TunnelRoute;
  readonly config: NodeConfig;
  /** Outer IPv4 identification (0 when the inner DF is set: the caller decides). */
  readonly id: number;
}

/** The 20 (IPIP) or 50 (VXLAN) bytes inserted between the Ethernet header and the inner packet. */
export function buildTunnelHeaders(input: TunnelHeaderInput): Uint8Array {
  const { frame, inner, mode, route, config } = input;
  const innerLength = frame.length - ETH_HLEN;
  const out = new Uint8Array(tunnelOverhead(mode));
  out[0] = 0x45;
  out[1] = inner.tos;
  writeU16(out, 2, innerLength + out.length);
  writeU16(out, 4, input.id);
  writeU16(out, 6, 0x4000); // always DF: routers answer frag-needed instead of fragmenting (docs/datapath.md, "Path MTU")
  out[8] = effectiveTtl(config);
  out[9] = mode === 'ipip' ? IPPROTO_IPIP : IPPROTO_UDP;
  out.set(ipv4ToBytes(config.localIp), 12);
  out.set(ipv4ToBytes(route.remote), 16);
  writeU16(out, 10, internetChecksum(out, 0, IPV4_MIN_HLEN));
  if (mode === 'vxlan') {
    const udp = IPV4_MIN_HLEN;
    writeU16(out, udp, vxlanSourcePort(frame));
    writeU16(out, udp + 2, config.vxlanPort);
    writeU16(out, udp + 4, innerLength + out.length - IPV4_MIN_HLEN);
    writeU16(out, udp + 6, 0);
    writeVxlan(out, udp + UDP_HLEN, { vni: effectiveVni(route, config) });
    const eth = udp + UDP_HLEN + 8;
    out.set(macToBytes(route.vtepMac), eth);
    out.set(macToBytes(config.vtepMac), eth + 6);
    writeU16(out, eth + 12, ETH_P_IP);
  }
  return out;
}

