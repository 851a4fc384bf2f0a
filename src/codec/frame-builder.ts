// Builders of whole frames (Ethernet + IPv4 + L4) for test traffic, plain tunnel packets
// included. Each takes one flat object of fields and returns fresh bytes; every length and
// checksum is right unless a field overrides it (that is how tests build malformed packets).
import { BURROW_DEFAULT_VXLAN_PORT } from '../generated/burrow-h.js';
import { ETH_HLEN, writeEthernet } from './ethernet.js';
import { buildIcmpEcho } from './icmp.js';
import { writeU16 } from './address.js';
import { internetChecksum } from './checksum.js';
import { buildIpv4Header, IPPROTO_ICMP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HLEN, type Ipv4Fields } from './ipv4.js';
import { buildTcpSegment } from './tcp.js';
import { buildUdpSegment, type UdpFields } from './udp.js';
import { VXLAN_HLEN, writeVxlan } from './vxlan.js';

export const DEFAULT_ETH_SRC = '02:00:00:00:00:01';
export const DEFAULT_ETH_DST = '02:00:00:00:00:02';
/** burrow.h's BURROW_DEFAULT_VXLAN_PORT (IANA's VXLAN port). */
export const DEFAULT_VXLAN_PORT = BURROW_DEFAULT_VXLAN_PORT;

/** IPv4 header fields (protocol excepted) plus the Ethernet header and trailing padding. */
export interface FrameFields extends Omit<Ipv4Fields, 'protocol'> {
  readonly ethSrc?: string;
  readonly ethDst?: string;
  /** Default 0x0800. */
  readonly etherType?: number;
  /** Bytes after the IPv4 packet (Ethernet padding, outside the total length): bytes or a count of zeros. */
  readonly padding?: Uint8Array | number;
}

/** Header + payload, no Ethernet. */
export function buildIpv4Packet(fields: Ipv4Fields, payload: Uint8Array): Uint8Array {
  const header = buildIpv4Header(fields, payload.length);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** Prefixes an IPv4 packet with an Ethernet header and appends the padding. */
export function frameAround(fields: Omit<FrameFields, 'src' | 'dst'>, packet: Uint8Array): Uint8Array {
  const padding = typeof fields.padding === 'number' ? new Uint8Array(fields.padding) : (fields.padding ?? new Uint8Array(0));
  const out = new Uint8Array(ETH_HLEN + packet.length + padding.length);
  writeEthernet(out, 0, {
    dst: fields.ethDst ?? DEFAULT_ETH_DST,
    src: fields.ethSrc ?? DEFAULT_ETH_SRC,
    etherType: fields.etherType,
  });
  out.set(packet, ETH_HLEN);
  out.set(padding, ETH_HLEN + packet.length);
  return out;
}

export interface RawFrameFields extends FrameFields {
  readonly protocol: number;
  readonly payload?: Uint8Array;
}

/** Any protocol, payload taken as is (fragments, unknown protocols, hand-made L4). */
export function buildIpv4Frame(fields: RawFrameFields): Uint8Array {
  return frameAround(fields, buildIpv4Packet(fields, fields.payload ?? new Uint8Array(0)));
}

export interface TcpFrameFields extends FrameFields {
  readonly sport: number;
  readonly dport: number;
  readonly seq?: number;
  readonly ack?: number;
  readonly tcpFlags?: number;
  readonly window?: number;
  /** TCP checksum field; default computed over the pseudo-header. */
  readonly l4Checksum?: number;
  /** TCP options (padded to a multiple of 4) and a data offset that may lie. */
  readonly tcpOptions?: Uint8Array;
  readonly tcpDataOffset?: number;
  readonly payload?: Uint8Array;
}

export function buildTcpFrame(fields: TcpFrameFields): Uint8Array {
  const segment = buildTcpSegment(
    {
      sport: fields.sport,
      dport: fields.dport,
      seq: fields.seq,
      ack: fields.ack,
      flags: fields.tcpFlags,
      window: fields.window,
      checksum: fields.l4Checksum,
      ...(fields.tcpOptions ? { options: fields.tcpOptions } : {}),
      ...(fields.tcpDataOffset !== undefined ? { dataOffset: fields.tcpDataOffset } : {}),
    },
    fields.payload ?? new Uint8Array(0),
    fields.src,
    fields.dst,
  );
  return frameAround(fields, buildIpv4Packet({ ...fields, protocol: IPPROTO_TCP }, segment));
}

export interface UdpFrameFields extends FrameFields {
  readonly sport: number;
  readonly dport: number;
  readonly udpLength?: number;
  readonly udpChecksum?: UdpFields['checksum'];
  readonly payload?: Uint8Array;
}

export function buildUdpFrame(fields: UdpFrameFields): Uint8Array {
  const segment = buildUdpSegment(
    {
      sport: fields.sport,
      dport: fields.dport,
      length: fields.udpLength,
      checksum: fields.udpChecksum,
    },
    fields.payload ?? new Uint8Array(0),
    fields.src,
    fields.dst,
  );
  return frameAround(fields, buildIpv4Packet({ ...fields, protocol: IPPROTO_UDP }, segment));
}

export interface IcmpEchoFrameFields extends FrameFields {
  /** Default 8 (echo request). */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly identifier?: number;
  readonly sequence?: number;
  readonly l4Checksum?: number;
  readonly payload?: Uint8Array;
}

export function buildIcmpEchoFrame(fields: IcmpEchoFrameFields): Uint8Array {
  const message = buildIcmpEcho(
    {
      type: fields.icmpType,
      code: fields.icmpCode,
      identifier: fields.identifier,
      sequence: fields.sequence,
      checksum: fields.l4Checksum,
    },
    fields.payload ?? new Uint8Array(0),
  );
  return frameAround(fields, buildIpv4Packet({ ...fields, protocol: IPPROTO_ICMP }, message));
}

/** The IPv4 packet inside a frame built here (everything after the Ethernet header). */
export function packetOf(frame: Uint8Array): Uint8Array {
  return frame.slice(ETH_HLEN);
}

export interface IpipFrameFields extends FrameFields {
  /** The inner IPv4 packet (no Ethernet header). */
  readonly inner: Uint8Array;
}

/** An IP-in-IP frame: outer Ethernet + outer IPv4 (protocol 4) + the inner packet. */
export function buildIpipFrame(fields: IpipFrameFields): Uint8Array {
  return buildIpv4Frame({ ...fields, protocol: IPPROTO_IPIP, payload: fields.inner });
}

export interface VxlanFrameFields extends FrameFields {
  readonly sport: number;
  /** Default 4789. */
  readonly dport?: number;
  /** Default 'zero', as VXLAN senders do. */
  readonly udpChecksum?: UdpFields['checksum'];
  readonly udpLength?: number;
  readonly vni: number;
  /** VXLAN byte 0; default 0x08. */
  readonly vxlanFlags?: number;
  readonly innerEthSrc?: string;
  readonly innerEthDst?: string;
  /** Default 0x0800. */
  readonly innerEtherType?: number;
  /** The inner IPv4 packet (no Ethernet header). */
  readonly inner: Uint8Array;
}

/** A VXLAN frame: outer Ethernet + IPv4 + UDP + VXLAN + inner Ethernet + the inner packet. */
export function buildVxlanFrame(fields: VxlanFrameFields): Uint8Array {
  const payload = new Uint8Array(VXLAN_HLEN + ETH_HLEN + fields.inner.length);
  writeVxlan(payload, 0, { vni: fields.vni, flags: fields.vxlanFlags });
  writeEthernet(payload, VXLAN_HLEN, {
    dst: fields.innerEthDst ?? DEFAULT_ETH_DST,
    src: fields.innerEthSrc ?? DEFAULT_ETH_SRC,
    etherType: fields.innerEtherType,
  });
  payload.set(fields.inner, VXLAN_HLEN + ETH_HLEN);
  return buildUdpFrame({
    ...fields,
    dport: fields.dport ?? DEFAULT_VXLAN_PORT,
    udpChecksum: fields.udpChecksum ?? 'zero',
    payload,
  });
}

export interface FragNeededFrameFields extends FrameFields {
  /** The next-hop MTU the ICMP names (bytes 6–7). */
  readonly mtu: number;
  /** Default 3 (destination unreachable). */
  readonly icmpType?: number;
  /** Default 4 (fragmentation needed and DF set). */
  readonly icmpCode?: number;
  /** The quoted bytes: the refused packet's IPv4 header and what followed it (RFC 792: at least 8 bytes). */
  readonly quote: Uint8Array;
}

/** An ICMP frag-needed frame (RFC 1191), as a router sends it about a packet too big for its next hop. */
export function buildFragNeededFrame(fields: FragNeededFrameFields): Uint8Array {
  const icmp = new Uint8Array(8 + fields.quote.length);
  icmp[0] = fields.icmpType ?? 3;
  icmp[1] = fields.icmpCode ?? 4;
  writeU16(icmp, 6, fields.mtu & 0xffff);
  icmp.set(fields.quote, 8);
  writeU16(icmp, 2, internetChecksum(icmp));
  return buildIpv4Frame({ ...fields, protocol: IPPROTO_ICMP, payload: icmp });
}

export interface TunnelQuoteFields {
  readonly mode: 'ipip' | 'vxlan';
  /** The outer source and destination of the quoted tunnel packet. */
  readonly src: string;
  readonly dst: string;
  /** The quoted outer total length (the size the router refused). */
  readonly totalLength: number;
  /** Default true (burrow's outer packets always carry DF). */
  readonly df?: boolean;
  readonly mf?: boolean;
  readonly fragOffset?: number;
  /** VXLAN: the quoted UDP destination port (default 4789). */
  readonly dport?: number;
  /** Bytes quoted after the outer IPv4 header (default 8: the minimum RFC 792 asks for). */
  readonly after?: number;
}

/** What a router quotes of one of our outer packets: its IPv4 header and the first bytes after it. */
export function buildTunnelQuote(q: TunnelQuoteFields): Uint8Array {
  const after = q.after ?? 8;
  const header = buildIpv4Header({
    src: q.src, dst: q.dst, protocol: q.mode === 'ipip' ? IPPROTO_IPIP : IPPROTO_UDP, totalLength: q.totalLength,
    df: q.df ?? true, mf: q.mf ?? false, fragOffset: q.fragOffset ?? 0, id: 0, ttl: 63,
  }, 0);
  const body = new Uint8Array(after);
  if (q.mode === 'vxlan') {
    const udp = new Uint8Array(8);
    writeU16(udp, 0, 40000);
    writeU16(udp, 2, q.dport ?? DEFAULT_VXLAN_PORT);
    writeU16(udp, 4, (q.totalLength - IPV4_MIN_HLEN) & 0xffff);
    body.set(udp.subarray(0, Math.min(8, after)), 0);
    if (after > 8) body[8] = 0x08;
  } else {
    // The inner IPv4 header's first bytes.
    if (after > 0) body[0] = 0x45;
    if (after > 3) writeU16(body, 2, (q.totalLength - IPV4_MIN_HLEN) & 0xffff);
  }
  const out = new Uint8Array(header.length + after);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}
