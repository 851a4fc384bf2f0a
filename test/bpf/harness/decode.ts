// Frames decoded for people reading a mismatch: one line per header, from the outer Ethernet header
// through the tunnel headers into the inner packet, stopping where the bytes run out.
import {
  ETH_HLEN, ETH_P_IP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, ipv4HeaderChecksumValid, parseEthernet, parseIpv4, parseTcp,
  parseUdp, parseVxlan, type Ipv4Header,
} from '../../../src/codec/index.js';

const hex16 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

function ipv4Line(ip: Ipv4Header, bytes: Uint8Array, at: number): string {
  const flags = [ip.df ? 'DF' : '', ip.mf ? 'MF' : ''].filter(Boolean).join('+') || '-';
  const checksum = ip.ihl >= 5 && at + ip.headerLength <= bytes.length
    ? (ipv4HeaderChecksumValid(bytes, at) ? 'ok' : 'BAD')
    : 'unchecked';
  return `ipv4 @${at}: v${ip.version} ihl ${ip.ihl} tos ${hex16(ip.tos).slice(4)} (dscp ${ip.dscp} ecn ${ip.ecn}) len ${ip.totalLength} ` +
    `id ${hex16(ip.id)} ${flags} off ${ip.fragOffset} ttl ${ip.ttl} proto ${ip.protocol} csum ${hex16(ip.checksum)} ${checksum} ` +
    `${ip.src} > ${ip.dst}`;
}

/** Human-readable headers of a frame, outermost first. `vxlanPorts`: UDP ports read as VXLAN. */
export function decodeFrame(frame: Uint8Array, vxlanPorts: readonly number[] = [4789]): string[] {
  const lines: string[] = [`${frame.length} bytes`];
  let at = 0;
  for (let depth = 0; depth < 3; depth++) {
    const eth = parseEthernet(frame, at);
    if (!eth) {
      if (at < frame.length) lines.push(`(${frame.length - at} bytes, no full Ethernet header @${at})`);
      return lines;
    }
    lines.push(`eth @${at}: ${eth.src} > ${eth.dst} type ${hex16(eth.etherType)}`);
    if (eth.etherType !== ETH_P_IP) return lines;
    let ipAt = at + ETH_HLEN;
    let ip = parseIpv4(frame, ipAt);
    // IPIP: inner IPv4 headers follow directly.
    while (ip) {
      lines.push(ipv4Line(ip, frame, ipAt));
      if (ip.version !== 4 || ip.ihl < 5) return lines;
      const l4 = ipAt + ip.headerLength;
      if (ip.protocol === IPPROTO_IPIP && !ip.isFragment) {
        ipAt = l4;
        ip = parseIpv4(frame, ipAt);
        continue;
      }
      if (ip.protocol === IPPROTO_TCP && !ip.isFragment) {
        const tcp = parseTcp(frame, l4);
        if (tcp) lines.push(`tcp @${l4}: ${tcp.sport} > ${tcp.dport}`);
        return lines;
      }
      if (ip.protocol !== IPPROTO_UDP || ip.isFragment) return lines;
      const udp = parseUdp(frame, l4);
      if (!udp) return lines;
      lines.push(`udp @${l4}: ${udp.sport} > ${udp.dport} len ${udp.length} csum ${hex16(udp.checksum)}`);
      if (!vxlanPorts.includes(udp.dport)) return lines;
      const vxlan = parseVxlan(frame, l4 + 8);
      if (!vxlan) return lines;
      lines.push(`vxlan @${l4 + 8}: flags ${hex16(vxlan.flags).slice(4)} vni ${vxlan.vni} reserved ${vxlan.reserved1}/${vxlan.reserved2}`);
      at = l4 + 16;
      break;
    }
    if (!ip) {
      if (ipAt < frame.length) lines.push(`(${frame.length - ipAt} bytes, no full IPv4 header @${ipAt})`);
      return lines;
    }
  }
  return lines;
}
