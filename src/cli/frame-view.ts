/**
 * A frame as a list of decoded layers, outermost first (ethernet, ipv4, [udp, vxlan, ethernet,]
 * ipv4, tcp|udp|icmp): what `agentctl trace` shows of the packets it sends and gets back. Pure;
 * parsing stops at the first layer the bytes do not hold.
 */
import {
  checksumValid,
  ETH_HLEN,
  IPPROTO_ICMP,
  IPPROTO_IPIP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  parseEthernet,
  parseIcmpEcho,
  parseIpv4,
  parseTcp,
  parseUdp,
  parseVxlan,
  UDP_HLEN,
  VXLAN_HLEN,
} from '../codec/index.js';

export type Layer =
  | { layer: 'ethernet'; src: string; dst: string; etherType: string }
  | {
      layer: 'ipv4';
      src: string;
      dst: string;
      protocol: number;
      tos: number;
      ttl: number;
      id: number;
      df: boolean;
      fragment: boolean;
      totalLength: number;
      headerLength: number;
      checksumOk: boolean;
    }
  | { layer: 'udp'; sport: number; dport: number; length: number; checksum: number }
  | { layer: 'vxlan'; flags: number; vni: number }
  | { layer: 'tcp'; sport: number; dport: number; flags: number }
  | { layer: 'icmp'; type: number; code: number };

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;

/** Decodes `frame` from its Ethernet header; `vxlanPort` says which UDP port carries VXLAN. */
export function frameLayers(frame: Uint8Array, vxlanPort: number): Layer[] {
  const layers: Layer[] = [];
  let off = 0;
  for (let depth = 0; depth < 3; depth++) {
    const eth = parseEthernet(frame, off);
    if (!eth) break;
    layers.push({ layer: 'ethernet', src: eth.src, dst: eth.dst, etherType: hex(eth.etherType, 4) });
    if (!eth.isIpv4) break;
    const next = ipLayers(frame, off + ETH_HLEN, vxlanPort, layers);
    if (next === undefined) break;
    off = next;
  }
  return layers;
}

/** Pushes the IPv4 header(s) at `off` and what follows; returns the offset of an inner Ethernet header (VXLAN), if any. */
function ipLayers(frame: Uint8Array, start: number, vxlanPort: number, layers: Layer[]): number | undefined {
  let off = start;
  for (let depth = 0; depth < 3; depth++) {
    const ip = parseIpv4(frame, off);
    if (!ip || ip.version !== 4 || ip.ihl < 5) return undefined;
    layers.push({
      layer: 'ipv4', src: ip.src, dst: ip.dst, protocol: ip.protocol, tos: ip.tos, ttl: ip.ttl, id: ip.id, df: ip.df,
      fragment: ip.isFragment, totalLength: ip.totalLength, headerLength: ip.headerLength,
      checksumOk: checksumValid(frame.subarray(off, off + ip.headerLength)),
    });
    const l4 = off + ip.headerLength;
    if (ip.isFragment && ip.fragOffset !== 0) return undefined;
    if (ip.protocol === IPPROTO_IPIP) {
      off = l4;
      continue;
    }
    if (ip.protocol === IPPROTO_TCP) {
      const tcp = parseTcp(frame, l4);
      if (tcp) layers.push({ layer: 'tcp', sport: tcp.sport, dport: tcp.dport, flags: tcp.flags });
      return undefined;
    }
    if (ip.protocol === IPPROTO_ICMP) {
      const icmp = parseIcmpEcho(frame, l4);
      if (icmp) layers.push({ layer: 'icmp', type: icmp.type, code: icmp.code });
      return undefined;
    }
    if (ip.protocol === IPPROTO_UDP) {
      const udp = parseUdp(frame, l4);
      if (!udp) return undefined;
      layers.push({ layer: 'udp', sport: udp.sport, dport: udp.dport, length: udp.length, checksum: udp.checksum });
      if (udp.dport !== vxlanPort) return undefined;
      const vxlan = parseVxlan(frame, l4 + UDP_HLEN);
      if (!vxlan) return undefined;
      layers.push({ layer: 'vxlan', flags: vxlan.flags, vni: vxlan.vni });
      return l4 + UDP_HLEN + VXLAN_HLEN;
    }
    return undefined;
  }
  return undefined;
}

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** One line per layer, e.g. `ipv4  10.0.1.10 → 10.0.2.10  proto 4  ttl 64  tos 0x00  id 0  DF  len 104`. */
export function layerLine(l: Layer): string {
  switch (l.layer) {
    case 'ethernet':
      return `ethernet  ${l.src} → ${l.dst}  type ${l.etherType}`;
    case 'ipv4':
      return [
        `ipv4      ${l.src} → ${l.dst}`, `proto ${l.protocol}`, `ttl ${l.ttl}`, `tos ${hex(l.tos, 2)}`, `id ${l.id}`,
        ...(l.df ? ['DF'] : []), ...(l.fragment ? ['fragment'] : []), `len ${l.totalLength}`,
        ...(l.checksumOk ? [] : ['BAD CHECKSUM']),
      ].join('  ');
    case 'udp':
      return `udp       ${l.sport} → ${l.dport}  len ${l.length}  csum ${hex(l.checksum, 4)}`;
    case 'vxlan':
      return `vxlan     vni ${l.vni}  flags ${hex(l.flags, 2)}`;
    case 'tcp':
      return `tcp       ${l.sport} → ${l.dport}  ${TCP_FLAG_NAMES.filter((_, i) => l.flags & (1 << i)).join(',') || 'no flags'}`;
    case 'icmp':
      return `icmp      type ${l.type} code ${l.code}`;
  }
}
