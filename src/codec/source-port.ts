// The VXLAN UDP source port: a hash of the inner flow, computed identically in C
// (docs/datapath.md, "VXLAN source port hash"). All arithmetic is unsigned 32-bit.
import { ipv4ToNumber, readU16, readU32 } from './address.js';
import { ETH_HLEN } from './ethernet.js';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './ipv4.js';
import { BURROW_SPORT_MAX, BURROW_SPORT_MIN } from './model.js';

const SPORT_RANGE = BURROW_SPORT_MAX - BURROW_SPORT_MIN + 1; // 28232

/** MurmurHash3's 32-bit finalizer. */
export function fmix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export interface FlowKey {
  readonly src: string | number;
  readonly dst: string | number;
  readonly protocol: number;
  /** (sport << 16) | dport, or 0 when the ports do not count (no L4 ports, fragment, truncated). */
  readonly ports: number;
}

/** The four fields weighted by xxHash32's primes and summed (mod 2^32), before the finalizer. */
export function flowMix(flow: FlowKey): number {
  const saddr = typeof flow.src === 'number' ? flow.src >>> 0 : ipv4ToNumber(flow.src);
  const daddr = typeof flow.dst === 'number' ? flow.dst >>> 0 : ipv4ToNumber(flow.dst);
  return (0x165667b1 + Math.imul(saddr, 0x9e3779b1) + Math.imul(daddr, 0x85ebca77) +
    Math.imul(flow.ports >>> 0, 0xc2b2ae3d) + Math.imul(flow.protocol & 0xff, 0x27d4eb2f)) >>> 0;
}

export function flowHash(flow: FlowKey): number {
  return fmix32(flowMix(flow));
}

/** Multiply-shift into the range: ⌊hash · 28232 / 2^32⌋ (exact in a double: the product < 2^47). */
export function sourcePortOfHash(hash: number): number {
  return BURROW_SPORT_MIN + Math.floor(((hash >>> 0) * SPORT_RANGE) / 0x100000000);
}

/** The flow key of the IPv4 packet at `ipOffset` (needs its 20-byte header in `bytes`). */
export function flowKeyOf(bytes: Uint8Array, ipOffset = ETH_HLEN): FlowKey {
  const ihl = (bytes[ipOffset] ?? 0) & 0x0f;
  const protocol = bytes[ipOffset + 9] ?? 0;
  const fragment = (readU16(bytes, ipOffset + 6) & 0x3fff) !== 0; // MF or offset
  const l4 = ipOffset + ihl * 4;
  const hasPorts = protocol === IPPROTO_TCP || protocol === IPPROTO_UDP || protocol === IPPROTO_SCTP;
  const ports = hasPorts && !fragment && l4 + 4 <= bytes.length ? readU32(bytes, l4) : 0;
  return { src: readU32(bytes, ipOffset + 12), dst: readU32(bytes, ipOffset + 16), protocol, ports };
}

/**
 * The VXLAN source port for the inner IPv4 packet at `ipOffset` of `bytes`: 14 for a frame
 * (the default, what the encap program hashes), 0 for a bare IPv4 packet. Always 32768–60999.
 */
export function vxlanSourcePort(bytes: Uint8Array, ipOffset = ETH_HLEN): number {
  if (bytes.length < ipOffset + 20) throw new RangeError(`no IPv4 header at offset ${ipOffset} (${bytes.length} bytes)`);
  return sourcePortOfHash(flowHash(flowKeyOf(bytes, ipOffset)));
}
