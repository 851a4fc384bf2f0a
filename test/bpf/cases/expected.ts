// Expected outputs for the table cases, written from docs/datapath.md without the codec's encap and
// decap model: header bytes laid out by hand here, the RFC 1071 checksum and the RFC 1624 update
// computed here, the VXLAN source port from the document's pseudo-code. The input frames come from
// the codec's frame builders (buildTcpFrame …); what a program must make of them does not.

export function bytesOf(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':'), (h) => parseInt(h, 16));
}

export function ip(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number);
}

const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];

/** RFC 1071 over [start, end) of bytes. */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (i + 1 < end ? bytes[i + 1] ?? 0 : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet header: destination, source, type. */
export function ethernet(dst: string, src: string, type = 0x0800): Uint8Array {
  return bytesOf(mac(dst), mac(src), u16(type));
}

export interface OuterIpv4 {
  /** The whole TOS byte (copied from the inner header). */
  readonly tos: number;
  /** Bytes after the outer IPv4 header (inner packet plus any UDP/VXLAN/Ethernet shim). */
  readonly payloadLength: number;
  readonly id: number;
  readonly df: boolean;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
}

export function outerIpv4(o: OuterIpv4): Uint8Array {
  const h = bytesOf(
    [0x45, o.tos], u16(20 + o.payloadLength), u16(o.id), u16(o.df ? 0x4000 : 0), [o.ttl, o.protocol], [0, 0],
    ip(o.src), ip(o.dst),
  );
  h.set(u16(checksum(h)), 10);
  return h;
}

export interface VxlanShim {
  readonly sport: number;
  readonly dport: number;
  /** Bytes after the UDP header's start: 8 + 8 + 14 + the inner packet. */
  readonly udpLength: number;
  readonly vni: number;
  readonly innerDst: string;
  readonly innerSrc: string;
}

/** UDP (checksum 0) + VXLAN (I flag, VNI) + inner Ethernet: the 30 bytes after the outer IPv4. */
export function vxlanShim(v: VxlanShim): Uint8Array {
  return bytesOf(
    u16(v.sport), u16(v.dport), u16(v.udpLength), [0, 0],
    [0x08, 0, 0, 0, (v.vni >>> 16) & 0xff, (v.vni >>> 8) & 0xff, v.vni & 0xff, 0],
    ethernet(v.innerDst, v.innerSrc),
  );
}

// --- VXLAN source port, from the pseudo-code in docs/datapath.md --------------------------

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const be32 = (b: Uint8Array, at: number): number => (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;

/** The source port for the IPv4 packet behind the 14-byte Ethernet header of `frame`. */
export function docSourcePort(frame: Uint8Array): number {
  const ihl = (frame[14] ?? 0) & 0x0f;
  const protocol = frame[14 + 9] ?? 0;
  const fragment = ((((frame[20] ?? 0) << 8) | (frame[21] ?? 0)) & 0x3fff) !== 0;
  const l4 = 14 + ihl * 4;
  const ports = [6, 17, 132].includes(protocol) && !fragment && l4 + 4 <= frame.length ? be32(frame, l4) : 0;
  const mixed = BigInt(0x165667b1) + BigInt(be32(frame, 14 + 12)) * 0x9e3779b1n + BigInt(be32(frame, 14 + 16)) * 0x85ebca77n +
    BigInt(ports) * 0xc2b2ae3dn + BigInt(protocol) * 0x27d4eb2fn;
  const h = fmix32(Number(mixed & 0xffffffffn));
  return 32768 + Number((BigInt(h) * 28232n) >> 32n);
}

// --- what encapsulation and decapsulation produce --------------------------------------------

export interface TunnelParams {
  readonly mode: 'ipip' | 'vxlan';
  readonly local: string;
  readonly remote: string;
  /** Outer TTL as written (cfg.ttl, 64 for 0). */
  readonly ttl: number;
  /** Outer ID: 0 for inner DF, else what the program chose (the outer DF is set either way). */
  readonly id: number;
  readonly vni?: number;
  readonly port?: number;
  readonly localVtep?: string;
  readonly remoteVtep?: string;
}

/** The 20 or 50 bytes an encap program inserts after the Ethernet header of `frame`. */
export function tunnelHeaders(frame: Uint8Array, p: TunnelParams): Uint8Array {
  const inner = frame.length - 14;
  const tos = frame[15] ?? 0;
  const df = true; // the outer header always carries DF (docs/datapath.md, "Path MTU"), whatever the inner says
  if (p.mode === 'ipip') {
    return outerIpv4({ tos, payloadLength: inner, id: p.id, df, ttl: p.ttl, protocol: 4, src: p.local, dst: p.remote });
  }
  return bytesOf(
    outerIpv4({ tos, payloadLength: inner + 30, id: p.id, df, ttl: p.ttl, protocol: 17, src: p.local, dst: p.remote }),
    vxlanShim({
      sport: docSourcePort(frame), dport: p.port ?? 4789, udpLength: inner + 30, vni: p.vni ?? 4096,
      innerDst: p.remoteVtep ?? '00:00:00:00:00:00', innerSrc: p.localVtep ?? '00:00:00:00:00:00',
    }),
  );
}

/** tc_encap: the input's Ethernet header stays in front (bpf_redirect_neigh rewrites it later). */
export function tcEncapOutput(frame: Uint8Array, p: TunnelParams): Uint8Array {
  return bytesOf(frame.subarray(0, 14), tunnelHeaders(frame, p), frame.subarray(14));
}

/** xdp_encap: a new Ethernet header from the FIB (dmac, smac). */
export function xdpEncapOutput(frame: Uint8Array, p: TunnelParams, fib: { dmac: string; smac: string }): Uint8Array {
  return bytesOf(ethernet(fib.dmac, fib.smac), tunnelHeaders(frame, p), frame.subarray(14));
}

/** Decap: the outer Ethernet header, then the inner packet from `innerAt` on. */
export function decapOutput(frame: Uint8Array, innerAt: number): Uint8Array {
  return bytesOf(frame.subarray(0, 14), frame.subarray(innerAt));
}

/**
 * The inner IPv4 header at `at` with its ECN field set to `ecn` and its checksum updated by
 * RFC 1624 eqn. 3 (HC' = ~(~HC + ~m + m')), so a wrong checksum stays exactly as wrong. An
 * unchanged ECN leaves the header alone (the programs only rewrite a TOS that changes).
 */
export function withInnerEcn(frame: Uint8Array, at: number, ecn: number): Uint8Array {
  const out = frame.slice();
  if (((out[at + 1] ?? 0) & 3) === ecn) return out;
  const m = ((out[at] ?? 0) << 8) | (out[at + 1] ?? 0);
  out[at + 1] = ((out[at + 1] ?? 0) & 0xfc) | ecn;
  const m2 = ((out[at] ?? 0) << 8) | (out[at + 1] ?? 0);
  const hc = ((out[at + 10] ?? 0) << 8) | (out[at + 11] ?? 0);
  let sum = (~hc & 0xffff) + (~m & 0xffff) + m2;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const hc2 = ~sum & 0xffff;
  out[at + 10] = hc2 >>> 8;
  out[at + 11] = hc2 & 0xff;
  return out;
}
